import { assertCheckpointFitsTask, assertDetectorImageSize, detectorAnchors } from '@selftrain/checkpoints';
import type { DatasetManifest, DetectionMetrics } from '@selftrain/proto';
import { evaluateDetector, retinaNetDetector, type DetectionEvalOptions, type DetectionEvaluation } from '@selftrain/train';
import type { TaskEvaluator } from './task-evaluator';

export function detectionEvalOptionsFromManifest(m: Pick<DatasetManifest, 'classNames' | 'categoryIds'>): DetectionEvalOptions {
  return { numClasses: m.classNames.length, categoryIds: m.categoryIds, classNames: m.classNames };
}

export function detectionMetrics(e: DetectionEvaluation): DetectionMetrics {
  return {
    ap: e.ap, ap50: e.ap50, ap75: e.ap75, apSmall: e.apSmall, apMedium: e.apMedium, apLarge: e.apLarge, ar100: e.ar100,
    apPerClass: e.perClass.map((c) => c.ap), detections: e.detections,
  };
}

/**
 * COCO box AP with the paper's inference settings (retinaNetDetector's defaults), scored by
 * evaluateDetector as training's validation scores. With `predictionsPrefix` the detections are
 * written too, as a COCO results file `<prefix>/detections.json`, returned as `predictions`.
 */
export const detectionEvaluator: TaskEvaluator = {
  checkModel: (model, manifest) => assertCheckpointFitsTask(model, 'detection', manifest.classNames.length, manifest.channels),
  async evaluate({ deps, input, manifest, model, records, response }) {
    assertDetectorImageSize(model, records);
    const det = await evaluateDetector(records, retinaNetDetector(model, detectorAnchors(model)), { ...detectionEvalOptionsFromManifest(manifest), batchSize: input.batchSize });
    const predictions = input.predictionsPrefix ? await deps.store.putJson(`${input.predictionsPrefix}/detections.json`, det.results) : undefined;
    return { ...response, detection: detectionMetrics(det.evaluation), ...(predictions ? { predictions } : {}) };
  },
};
