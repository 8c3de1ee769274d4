import { detectorAnchors } from '@selftrain/checkpoints';
import { loadManifest } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import { BOX_VARIANCES } from '@selftrain/models';
import type { DatasetManifest, RunRecord } from '@selftrain/proto';
import { loadModelFromBucket, readCheckpointMetadata, sha256Hex, type ObjectStore } from '@selftrain/storage';
import { exportMetadata, type ExportSource, type ExportTask } from './export-metadata';
import { encodeOnnx, exportOnnx } from './export-onnx';
import { exportStockTfjs } from './export-tfjs';

export const EXPORT_FORMATS = ['onnx', 'tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What an export writes: file names (relative to the output) with their bytes, and the metadata they carry. */
export interface ExportedModel {
  files: { name: string; bytes: Uint8Array }[];
  metadata: Record<string, string>;
  checkpoint: string;
}

export function parseExportFormat(raw: string | undefined, field = '--format'): ExportFormat {
  if (raw === undefined) throw new InputError(field, `give the format: ${EXPORT_FORMATS.join(' or ')}`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(raw)) throw new InputError(field, `unknown format ${JSON.stringify(raw)}; known: ${EXPORT_FORMATS.join(', ')}`);
  return raw as ExportFormat;
}

/**
 * The student checkpoint of a run's generation `generation` (default: the last generation that has one).
 * InputError naming the generation when it does not exist or has no student yet.
 */
export function checkpointOfRun(record: RunRecord, generation?: number): { key: string; sha256: string; generation: number } {
  const gens = record.generations;
  const withStudent = gens.filter((g) => g.studentCheckpoint?.key);
  if (generation === undefined) {
    const last = withStudent.at(-1);
    if (!last) throw new InputError('RUN', `run ${record.runId} has no student checkpoint yet (state ${record.state || 'unknown'})`);
    return { key: last.studentCheckpoint!.key, sha256: last.studentCheckpoint!.sha256, generation: last.index };
  }
  const g = gens.find((x) => x.index === generation);
  if (!g) throw new InputError('--generation', `run ${record.runId} has no generation ${generation} (it has ${gens.map((x) => x.index).join(', ') || 'none'})`);
  if (!g.studentCheckpoint?.key) throw new InputError('--generation', `generation ${generation} of run ${record.runId} has no student checkpoint yet`);
  return { key: g.studentCheckpoint.key, sha256: g.studentCheckpoint.sha256, generation };
}

/** A CHECKPOINT argument: `s3://KEY` or a bucket key ending in model.json; anything else is a run id. */
export function checkpointKeyOf(arg: string): string | undefined {
  if (arg.startsWith('s3://')) return arg.slice('s3://'.length);
  return arg.endsWith('model.json') ? arg : undefined;
}

const TASKS: readonly ExportTask[] = ['classification', 'detection', 'segmentation'];

/**
 * Loads a checkpoint from the bucket and writes it in `format`: 'onnx' gives model.onnx, 'tfjs' a stock
 * model.json + weights.bin. The metadata comes from the checkpoint and its dataset's manifest (class
 * names, size, channel statistics); a checkpoint whose dataset is gone still exports, without them.
 */
export async function exportCheckpoint(store: ObjectStore, checkpoint: string, format: ExportFormat): Promise<ExportedModel> {
  const checkpointMetadata = await readCheckpointMetadata(store, checkpoint).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new InputError('CHECKPOINT', `no checkpoint ${checkpoint} in the bucket`, { cause: err });
    throw err;
  }) ?? {};
  const sha256 = sha256Hex(await store.get(checkpoint));
  const task = (checkpointMetadata.task as ExportTask | undefined) ?? 'classification';
  if (!TASKS.includes(task)) throw new InputError('CHECKPOINT', `${checkpoint} records task ${JSON.stringify(task)}; known: ${TASKS.join(', ')}`);
  let manifest: DatasetManifest | undefined;
  if (typeof checkpointMetadata.dataset === 'string' && checkpointMetadata.dataset) {
    manifest = await loadManifest(store, checkpointMetadata.dataset).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
  }
  const model = await loadModelFromBucket(store, checkpoint);
  try {
    const source: ExportSource = { task, checkpoint: { key: checkpoint, sha256 }, checkpointMetadata, manifest };
    if (task === 'detection') source.detection = { anchors: detectorAnchors(model).boxes, variances: BOX_VARIANCES };
    const metadata = exportMetadata(model, source);
    if (format === 'onnx') return { files: [{ name: 'model.onnx', bytes: encodeOnnx(exportOnnx(model, metadata)) }], metadata, checkpoint };
    const [, h, w] = model.inputs[0].shape;
    const size: [number, number] | undefined = h != null && w != null ? undefined : manifest ? [manifest.height, manifest.width] : undefined;
    const { modelJson, weightData } = await exportStockTfjs(model, metadata, size);
    return {
      files: [
        { name: 'model.json', bytes: Buffer.from(JSON.stringify(modelJson)) },
        { name: 'weights.bin', bytes: new Uint8Array(weightData) },
      ],
      metadata, checkpoint,
    };
  } finally {
    model.dispose();
  }
}
