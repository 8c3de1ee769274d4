import { assertCheckpointFitsTask, assertDetectorImageSize, detectorAnchors } from '@selftrain/checkpoints';
import { readSplit, type ImageRecord } from '@selftrain/data';
import type { Artifact, DatasetManifest, DetectionMetrics, EvaluateResponse, SegmentationMetrics } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { EvaluateInput, EvaluatorDeps } from './evaluate-checkpoint';
import { detectionEvalOptionsFromManifest, evaluateDetector, evaluationDetector, type DetectionEvaluation } from './evaluate-detections';
import {
  evaluateSegmenter, evaluationSegmenter, predictedMaskPngs, segmentationEvalOptionsFromManifest, type SegmentationEvaluation,
} from './evaluate-segmentation';

/**
 * evaluateCheckpoint for a detection dataset (COCO box AP with the paper's inference settings) or a
 * segmentation dataset (single-scale mIoU). top1, the confusion matrix and the confident-prediction
 * counts stay empty: `threshold` is a classification notion. With `predictionsPrefix`, the predictions
 * are written too: `<prefix>/detections.json` (COCO results) or `<prefix>/masks/*.png` with the
 * index `<prefix>/masks.json`, which is returned as `predictions`.
 */
export async function evaluateDenseCheckpoint(
  deps: EvaluatorDeps, input: EvaluateInput, manifest: DatasetManifest, task: 'detection' | 'segmentation',
): Promise<EvaluateResponse> {
  const numClasses = manifest.classNames.length;
  const { model, sha256 } = await deps.models.get(input.checkpoint);
  assertCheckpointFitsTask(model, task, numClasses, manifest.channels);
  const records = await readSplit(deps.store, manifest, input.split);
  const response: EvaluateResponse = {
    top1: 0, perClassAccuracy: [], confusion: [], numClasses, count: records.length, classNames: manifest.classNames,
    checkpointSha256: sha256, confidentCount: 0, confidentAccuracy: 0, backend: deps.backend,
  };
  if (task === 'detection') {
    assertDetectorImageSize(model, records);
    const det = await evaluateDetector(records, evaluationDetector(model, detectorAnchors(model)), { ...detectionEvalOptionsFromManifest(manifest), batchSize: input.batchSize });
    response.detection = detectionMetrics(det.evaluation);
    if (input.predictionsPrefix) response.predictions = await deps.store.putJson(`${input.predictionsPrefix}/detections.json`, det.results);
  } else {
    const seg = await evaluateSegmenter(records, evaluationSegmenter(model), { ...segmentationEvalOptionsFromManifest(manifest), batchSize: input.batchSize });
    response.segmentation = segmentationMetrics(seg.evaluation);
    if (input.predictionsPrefix) response.predictions = await writeMaskPngs(deps.store, input.predictionsPrefix, records, seg.masks, { split: input.split, checkpointSha256: sha256, classNames: manifest.classNames });
  }
  return response;
}

export function detectionMetrics(e: DetectionEvaluation): DetectionMetrics {
  return {
    ap: e.ap, ap50: e.ap50, ap75: e.ap75, apSmall: e.apSmall, apMedium: e.apMedium, apLarge: e.apLarge, ar100: e.ar100,
    apPerClass: e.perClass.map((c) => c.ap), detections: e.detections,
  };
}

export function segmentationMetrics(e: SegmentationEvaluation): SegmentationMetrics {
  return { meanIou: e.meanIou, pixelAccuracy: e.pixelAccuracy, iouPerClass: e.perClass.map((c) => c.iou ?? -1) };
}

/**
 * File names for the mask PNGs: the record's source id (VOC tools match masks to images by it) or
 * key, reduced to safe characters; a name taken twice gets the record's index appended.
 */
export function maskFileNames(records: readonly Pick<ImageRecord, 'key' | 'sourceId'>[]): string[] {
  const taken = new Set<string>();
  return records.map((r, i) => {
    let name = (r.sourceId || r.key).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
    if (name === '' || taken.has(name)) name = `${name}-${i}`;
    taken.add(name);
    return `${name}.png`;
  });
}

async function writeMaskPngs(
  store: ObjectStore, prefix: string, records: readonly ImageRecord[], masks: readonly Uint8Array[], about: { split: string; checkpointSha256: string; classNames: string[] },
): Promise<Artifact> {
  const names = maskFileNames(records);
  const index: { key: string; sourceId?: string; mask: string; sha256: string }[] = [];
  for (const [i, m] of predictedMaskPngs(records, masks).entries()) {
    const art = await store.put(`${prefix}/masks/${names[i]}`, m.png, 'image/png');
    index.push({ key: m.key, ...(m.sourceId === undefined ? {} : { sourceId: m.sourceId }), mask: art.key, sha256: art.sha256 });
  }
  // Palette PNGs: the pixel index is the class id (VOC colours), so tools read ids and viewers show colours.
  return store.putJson(`${prefix}/masks.json`, { ...about, format: 'palette-png', masks: index });
}
