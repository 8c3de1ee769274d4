// The predict job: every image of an input through a Predictor, in batches, into the task's output.
// Streaming: one batch is decoded (on the decode pool's worker threads) while the one before it runs
// through the model, and each result is written as it comes, so memory holds two batches whatever the
// input's size. The first bad image stops the job with an InputError naming it, and nothing is left as
// final output.
import { DecodePool, type DecodedPhoto } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { classificationJsonl } from './classification-jsonl';
import { cocoResults } from './coco-results';
import type { ImageInput } from './image-input';
import { maskPngs } from './mask-pngs';
import type { PredictionSink } from './prediction-sink';
import type { Predictor } from './predictor';

export const DEFAULT_PREDICT_BATCH = 32;
export const DEFAULT_TOP_K = 5;

export interface PredictImagesOptions {
  /** Images per model call (default DEFAULT_PREDICT_BATCH). */
  batchSize?: number;
  /** Classification: classes listed per image (default DEFAULT_TOP_K, at most the class count). */
  topK?: number;
  onProgress?(done: number, total: number): void;
  /** A pool to decode on (default: one of the job's own, closed at the end). */
  decodePool?: DecodePool;
}

export interface PredictImagesResult {
  images: number;
  /** What was written: the JSONL file; the COCO results and their images file; the masks' directory. */
  written: string[];
}

/**
 * Runs `predictor` on every file of `input` and writes `out`: classification JSONL, detection COCO
 * results JSON (+ its .images.json), segmentation a directory of palette PNG masks.
 */
export async function predictImages(predictor: Predictor, input: ImageInput, out: string, opts: PredictImagesOptions = {}): Promise<PredictImagesResult> {
  const batchSize = opts.batchSize ?? DEFAULT_PREDICT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError('batchSize', `must be a positive integer, got ${batchSize}`);
  const topK = opts.topK ?? DEFAULT_TOP_K;
  if (!Number.isInteger(topK) || topK < 1) throw new InputError('topK', `must be a positive integer, got ${topK}`);
  const pool = opts.decodePool ?? new DecodePool();
  const { root, files } = input;
  const { height, width, channels, fit } = predictor.input;
  const decodeOpts = { channels, size: { height, width }, fit };
  const decode = (from: number): Promise<DecodedPhoto[]> => Promise.all(files.slice(from, from + batchSize).map(async (rel) => {
    const source = root.localPath ? root.localPath(rel) : { bytes: await root.read(rel), where: root.describe(rel) };
    return pool.decode(source, decodeOpts);
  }));
  // Typed per task, so each sink gets its own result type.
  const run = async <R>(sink: PredictionSink<R>, predict: (images: Uint8Array[]) => Promise<R[]>): Promise<PredictImagesResult> => {
    let next: Promise<DecodedPhoto[]> | undefined = decode(0);
    try {
      for (let from = 0; from < files.length; from += batchSize) {
        const photos: DecodedPhoto[] = await next!;
        next = from + batchSize < files.length ? decode(from + batchSize) : undefined;
        // A rejection of the prefetch is read in the next turn; until then it must not count as unhandled.
        next?.catch(() => undefined);
        const results = await predict(photos.map((p) => p.pixels));
        for (let i = 0; i < photos.length; i++) {
          const p = photos[i];
          await sink.add({ file: files[from + i], index: from + i + 1, originalHeight: p.originalHeight, originalWidth: p.originalWidth, geometry: p.geometry }, results[i]);
        }
        opts.onProgress?.(from + photos.length, files.length);
      }
      return { images: files.length, written: await sink.commit() };
    } catch (err) {
      await next?.catch(() => undefined);
      await sink.abort();
      throw err;
    }
  };
  try {
    switch (predictor.task) {
      case 'classification':
        return await run(await classificationJsonl(out, predictor.classNames, topK), (im) => predictor.predict(im));
      case 'detection':
        return await run(await cocoResults(out, predictor.classNames), (im) => predictor.predict(im));
      case 'segmentation':
        return await run(await maskPngs(out), (im) => predictor.predict(im));
      default:
        throw new Error(`unknown task ${(predictor as { task: string }).task}`);
    }
  } finally {
    if (!opts.decodePool) await pool.close();
  }
}
