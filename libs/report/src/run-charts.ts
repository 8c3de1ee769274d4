// Vega-Lite specs for one generation of a run record: training curves, the pseudo-label confidence
// histogram and per-class acceptance. Data is inlined in the spec; nothing is fetched.
import type { LabelStats, TrainResult } from '@selftrain/proto';
import type { ChartSpec } from './render-vega-lite';

const WIDTH = 320;
const HEIGHT = 180;
const BASE = { width: WIDTH, height: HEIGHT, background: 'white', config: { font: 'sans-serif', view: { stroke: '#ddd' } } } as const;
const ROLE_COLORS = { domain: ['teacher', 'student'], range: ['#4c78a8', '#f58518'] };

export type CurveMetric = 'loss' | 'val_top1';

/** One line per role that has a curve (teacher, student), the metric against the training step. */
export function trainingCurveSpec(metric: CurveMetric, curves: { teacher?: TrainResult; student?: TrainResult }): ChartSpec {
  const values = (['teacher', 'student'] as const).flatMap((role) =>
    (curves[role]?.curve ?? []).map((p) => ({ role, step: Number(p.step), value: metric === 'loss' ? p.loss : 100 * p.valTop1 })));
  return {
    ...BASE,
    title: metric === 'loss' ? 'training loss' : 'validation top-1 (%)',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: metric === 'loss' ? 'loss' : 'top-1 %', scale: { zero: false } },
      color: { field: 'role', type: 'nominal', title: null, scale: ROLE_COLORS },
    },
  };
}

/** The labeler's 10-bin histogram of top-class confidence over [0, 1]. */
export function confidenceHistogramSpec(stats: LabelStats, threshold?: number): ChartSpec {
  const bins = stats.confidenceHistogram.length || 10;
  const values = stats.confidenceHistogram.map((count, i) => ({ from: i / bins, to: (i + 1) / bins, count: Number(count) }));
  const bars: ChartSpec = {
    mark: { type: 'bar', color: '#4c78a8' },
    encoding: {
      x: { field: 'from', type: 'quantitative', bin: { binned: true, step: 1 / bins }, scale: { domain: [0, 1] }, title: 'teacher confidence (top class)' },
      x2: { field: 'to' },
      y: { field: 'count', type: 'quantitative', title: 'records' },
    },
  } as ChartSpec;
  const layers = [bars];
  if (threshold !== undefined && threshold > 0) {
    layers.push({ data: { values: [{ threshold }] }, mark: { type: 'rule', color: '#e45756', strokeDash: [4, 3] }, encoding: { x: { field: 'threshold', type: 'quantitative' } } } as ChartSpec);
  }
  return { ...BASE, title: 'pseudo-label confidence', data: { values }, layer: layers } as ChartSpec;
}

/** Kept and dropped records per class, stacked. */
export function classAcceptanceSpec(stats: LabelStats, classNames: readonly string[]): ChartSpec {
  const n = Math.max(stats.keptPerClass.length, stats.droppedPerClass.length);
  const name = (i: number) => classNames[i] ?? `class ${i}`;
  const values = Array.from({ length: n }, (_, i) => [
    { cls: name(i), order: i, outcome: 'kept', count: Number(stats.keptPerClass[i] ?? 0) },
    { cls: name(i), order: i, outcome: 'dropped', count: Number(stats.droppedPerClass[i] ?? 0) },
  ]).flat();
  return {
    ...BASE,
    title: 'pseudo-labels per class',
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'cls', type: 'nominal', title: null, sort: Array.from({ length: n }, (_, i) => name(i)), axis: { labelAngle: -40 } },
      y: { field: 'count', type: 'quantitative', title: 'records', stack: 'zero' },
      color: { field: 'outcome', type: 'nominal', title: null, scale: { domain: ['kept', 'dropped'], range: ['#54a24b', '#bab0ac'] } },
      order: { field: 'outcome', sort: 'descending' },
    },
  };
}
