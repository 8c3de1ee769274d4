import type { EvaluateResponse } from '@selftrain/proto';
import type { SpecTask } from './spec';

export interface TaskMetric {
  /** As the results table and the progress lines name it. */
  name: string;
  value(e: EvaluateResponse | undefined): number | undefined;
  format(e: EvaluateResponse | undefined): string;
}

const metric = (name: string, value: (e: EvaluateResponse) => number | undefined): TaskMetric => ({
  name,
  value: (e) => (e ? value(e) : undefined),
  format(e) {
    const v = this.value(e);
    return v === undefined ? '-' : (100 * v).toFixed(2);
  },
});

const METRICS: Record<SpecTask, TaskMetric> = {
  classification: metric('top-1', (e) => e.top1),
  detection: metric('AP', (e) => e.detection?.ap),
  segmentation: metric('mIoU', (e) => e.segmentation?.meanIou),
};

/** The headline metric of a task: top-1, COCO box AP, or mIoU. */
export function metricOf(task: SpecTask): TaskMetric {
  return METRICS[task];
}
