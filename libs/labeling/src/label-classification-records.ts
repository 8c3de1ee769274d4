import { inputShapeOf } from '@selftrain/checkpoints';
import type { ImageRecord } from '@selftrain/data';
import { confidenceHistogram } from '@selftrain/metrics';
import type { LabelStats } from '@selftrain/proto';
import { predictProbabilities } from '@selftrain/train';
import { selectPseudoLabels } from './select-pseudo-labels';
import type { TaskLabeler } from './task-labeler';

/**
 * Classes for a shard's records: the teacher's probabilities (softmax at options.temperature for soft
 * labels), the argmax kept when its probability >= options.threshold, with Noisy Student's class
 * balancing when asked (selectPseudoLabels). Hard labels, or the whole distribution for soft ones.
 */
export const classificationLabeler: TaskLabeler = {
  resolve(input, manifest) {
    const o = input.options;
    const numClasses = manifest.classNames.length;
    // The checkpoint's preprocessing, which labelShard has checked is the dataset's.
    const shape = inputShapeOf(manifest);
    return {
      options: o,
      async label(model, records) {
        const probs = await predictProbabilities(model, records.map((r) => r.image), shape, { batchSize: o.batchSize, temperature: o.soft ? o.temperature : 1 });
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
      },
    };
  },
};
