import { detectorAnchors } from '@selftrain/checkpoints';
import { readSplit, splitOf, type ImageRecord, type Task } from '@selftrain/data';
import { IGNORE_LABEL } from '@selftrain/metrics';
import { InputError } from '@selftrain/errors';
import { trainDetector, trainSegmenter, type DenseExample } from '@selftrain/train';
import type { TaskTrainer } from './task-trainer';

const toExample = (r: ImageRecord): DenseExample => ({ image: r.image, objects: r.objects, mask: r.mask });

/**
 * Teacher and student jobs on detection and segmentation datasets: the RetinaNet-style detector or the
 * FPN segmenter in the one training loop; the validation metric is COCO box AP or mIoU.
 */
function denseTrainer(task: Exclude<Task, 'classification'>): TaskTrainer<DenseExample> {
  const has = (r: ImageRecord) => (task === 'detection' ? r.objects !== undefined : r.mask !== undefined);
  const what = task === 'detection' ? 'boxes' : 'mask';
  return {
    checkRequest(req) {
      if (req.options.auxiliaryDataset) throw new InputError('options.auxiliary_dataset', `joint training is for classification; ${req.dataset} is a ${task} dataset`);
    },
    // The labeled and validation splits are small: held in memory.
    async loadSplit(deps, manifest, dataset, split, field) {
      if (!splitOf(manifest, split).labeled) throw new InputError(field, `split ${split} of ${dataset} has no labels`);
      const records = await readSplit(deps.store, manifest, split);
      for (const r of records) if (!has(r)) throw new InputError(field, `record ${r.key} of split ${split} has no ${what}`);
      return records.map(toExample);
    },
    pseudoExample(r) {
      if (!has(r)) throw new InputError('pseudo_shards', `record ${r.key} has no pseudo ${what}`);
      return toExample(r);
    },
    pseudoBuffer: 2048,
    train(input) {
      const numClasses = input.manifest.classNames.length;
      return task === 'detection'
        ? trainDetector({ ...input, anchors: detectorAnchors(input.model), numClasses: numClasses - 1 })
        : trainSegmenter({ ...input, numClasses, ignoreLabel: input.manifest.ignoreLabel || IGNORE_LABEL });
    },
  };
}

export const detectionTrainer = denseTrainer('detection');
export const segmentationTrainer = denseTrainer('segmentation');
