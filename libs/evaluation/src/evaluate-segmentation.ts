import { assertCheckpointFitsTask } from '@selftrain/checkpoints';
import { encodePaletteMaskPng, vocPalette, type ImageRecord } from '@selftrain/data';
import { IGNORE_LABEL } from '@selftrain/metrics';
import type { Artifact, DatasetManifest, SegmentationMetrics } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { evaluateSegmenter, segmentationPredictor, type SegmentationEvalOptions, type SegmentationEvaluation } from '@selftrain/train';
import type { TaskEvaluator } from './task-evaluator';

export function segmentationEvalOptionsFromManifest(m: Pick<DatasetManifest, 'classNames' | 'ignoreLabel'>): SegmentationEvalOptions {
  return { numClasses: m.classNames.length, ignoreLabel: m.ignoreLabel || IGNORE_LABEL, classNames: m.classNames };
}

/**
 * Predicted masks as palette PNGs (VOC colours by default): the pixel index is the class id, so
 * viewers show colours and VOC tools read ids. Named after the record's source id when it has one.
 */
export function predictedMaskPngs(
  records: readonly Pick<ImageRecord, 'key' | 'sourceId' | 'height' | 'width'>[], masks: readonly Uint8Array[], palette: Uint8Array = vocPalette(),
): { key: string; sourceId?: string; png: Buffer }[] {
  if (records.length !== masks.length) throw new Error(`${records.length} records but ${masks.length} masks`);
  return records.map((r, i) => {
    if (masks[i].length !== r.height * r.width) throw new Error(`mask of ${masks[i].length} pixels for ${r.key} (${r.height}x${r.width})`);
    const out: { key: string; sourceId?: string; png: Buffer } = { key: r.key, png: encodePaletteMaskPng(masks[i], r.height, r.width, palette) };
    if (r.sourceId !== undefined) out.sourceId = r.sourceId;
    return out;
  });
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

/**
 * Single-scale mIoU, scored by evaluateSegmenter as training's validation scores. With
 * `predictionsPrefix` the predicted masks are written too, as palette PNGs `<prefix>/masks/*.png` with
 * the index `<prefix>/masks.json`, returned as `predictions`.
 */
export const segmentationEvaluator: TaskEvaluator = {
  checkModel: (model, manifest) => assertCheckpointFitsTask(model, 'segmentation', manifest.classNames.length, manifest.channels),
  async evaluate({ deps, input, manifest, model, records, response }) {
    const seg = await evaluateSegmenter(records, segmentationPredictor(model), { ...segmentationEvalOptionsFromManifest(manifest), batchSize: input.batchSize });
    const predictions = input.predictionsPrefix
      ? await writeMaskPngs(deps.store, input.predictionsPrefix, records, seg.masks, { split: input.split, checkpointSha256: response.checkpointSha256, classNames: manifest.classNames })
      : undefined;
    return { ...response, segmentation: segmentationMetrics(seg.evaluation), ...(predictions ? { predictions } : {}) };
  },
};
