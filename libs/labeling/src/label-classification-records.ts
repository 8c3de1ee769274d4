import { inputShapeOf } from '@selftrain/checkpoints';
import type { ImageRecord } from '@selftrain/data';
import { confidenceHistogram } from '@selftrain/metrics';
import type { LabelStats } from '@selftrain/proto';
import { predictProbabilities } from '@selftrain/train';
import { selectPseudoLabels } from './select-pseudo-labels';
import type { ResolvedLabelingOptions } from './labeling-options';
import type { TaskLabeler, TaskLabels } from './task-labeler';

/** A teacher's class probabilities for records, row-major [records, K] in the dataset's class order. */
export type ClassProbabilities = (records: ImageRecord[], temperature: number) => Promise<Float32Array>;

/**
 * Classes for a shard's records: the teacher's probabilities (softmax at options.temperature for soft
 * labels), the argmax kept when its probability >= options.threshold, with Noisy Student's class
 * balancing when asked (selectPseudoLabels). Hard labels, or the whole distribution for soft ones.
 * The teacher is a checkpoint (classificationLabeler) or a user's model (labelShard's teacher_model).
 */
export async function labelClassification(probabilitiesOf: ClassProbabilities, records: ImageRecord[], o: ResolvedLabelingOptions, numClasses: number): Promise<TaskLabels> {
  const probs = await probabilitiesOf(records, o.soft ? o.temperature : 1);
  const predictions = records.map((_, i) => {
    let label = 0;
    for (let c = 1; c < numClasses; c++) if (probs[i * numClasses + c] > probs[i * numClasses + label]) label = c;
    return { index: i, label, confidence: probs[i * numClasses + label] };
  });
  const selection = selectPseudoLabels(predictions, numClasses, o);
  const seen = new Set<number>();
  const out: ImageRecord[] = selection.kept.map((i, n) => ({
    ...records[i],
    // Duplicates get their own key, so every record key in a pseudo-label set is unique.
    key: seen.has(i) ? `${records[i].key}#dup${n}` : (seen.add(i), records[i].key),
    label: o.soft ? undefined : predictions[i].label,
    probabilities: o.soft ? probs.slice(i * numClasses, (i + 1) * numClasses) : undefined,
    confidence: predictions[i].confidence,
  }));
  const kept = selection.kept.length - selection.duplicated;
  const labelStats: LabelStats = {
    records: records.length, kept, dropped: records.length - kept,
    keptPerClass: selection.keptPerClass, droppedPerClass: selection.droppedPerClass,
    confidenceHistogram: confidenceHistogram(predictions.map((p) => p.confidence), 10), duplicated: selection.duplicated,
    boxes: 0, imagesWithBoxes: 0, pixels: 0, ignoredPixels: 0,
  };
  return { records: out, labelStats, stats: {}, keptNothing: out.length === 0 };
}

/** Classification with a checkpoint as the teacher. */
export const classificationLabeler: TaskLabeler = {
  resolve(input, manifest) {
    const o = input.options;
    // The checkpoint's preprocessing, which labelShard has checked is the dataset's.
    const shape = inputShapeOf(manifest);
    return {
      options: o,
      label: (model, records) => labelClassification(
        (recs, temperature) => predictProbabilities(model, recs.map((r) => r.image), shape, { batchSize: o.batchSize, temperature }),
        records, o, manifest.classNames.length,
      ),
    };
  },
};
