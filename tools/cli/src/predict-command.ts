import { readFile } from 'node:fs/promises';
import { classificationEngine, INFERENCE_ENGINES, initBackend, type InferenceEngineChoice } from '@selftrain/compute';
import { InputError } from '@selftrain/errors';
import { checkpointKeyOf, checkpointOfRun } from '@selftrain/export';
import type { Logger } from '@selftrain/logger';
import { ProgressDisplay } from '@selftrain/pipeline';
import { loadRunRecord, openStore } from '@selftrain/pipeline/records';
import { openCheckpointPredictor, openImageInput, openOnnxPredictor, predictImages, type Predictor } from '@selftrain/predict';
import { S3ObjectStore, type ObjectStore } from '@selftrain/storage';
import { intFlag, stringFlag, type ParsedArgs } from './cli-args';

/**
 * What runs a classification checkpoint: SELFTRAIN_INFERENCE_ENGINE as the services read it (auto:
 * onnxruntime on a CPU backend, TF.js on a GPU one).
 */
async function checkpointEngine(): Promise<'onnxruntime' | 'tfjs'> {
  const choice = process.env.SELFTRAIN_INFERENCE_ENGINE || 'auto';
  if (!(INFERENCE_ENGINES as readonly string[]).includes(choice)) throw new InputError('SELFTRAIN_INFERENCE_ENGINE', `must be one of ${INFERENCE_ENGINES.join(', ')}, got ${JSON.stringify(choice)}`);
  return classificationEngine(choice as InferenceEngineChoice, await initBackend({ purpose: 'infer' }));
}

/**
 * `selftrain predict MODEL INPUT --out PATH [--batch-size N] [--top-k K] [--generation G]`: MODEL is a run
 * (its last student, or generation G's), a checkpoint (s3://KEY or a key ending in model.json) or a .onnx
 * file from `selftrain export`; INPUT a directory of images (recursive) or s3://BUCKET/PREFIX. Writes the
 * task's output (libs/predict) and prints its path(s).
 */
export async function predictCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const [model, input] = args.positionals;
  if (!model) throw new InputError('MODEL', 'give a run id, a checkpoint (s3://KEY or a key ending in model.json) or a .onnx file written by selftrain export');
  if (!input) throw new InputError('INPUT', 'give a directory of images or s3://BUCKET/PREFIX');
  const out = stringFlag(args, 'out');
  if (!out) throw new InputError('--out', 'give the file to write (classification: JSONL; detection: COCO results JSON) or, for segmentation, a new directory for the masks');
  const batchSize = intFlag(args, 'batch-size', 1, 4096);
  const topK = intFlag(args, 'top-k', 1);
  const generation = intFlag(args, 'generation', 0);
  const onnxFile = model.toLowerCase().endsWith('.onnx');
  const checkpoint = onnxFile ? undefined : checkpointKeyOf(model);
  if ((onnxFile || checkpoint !== undefined) && generation !== undefined) throw new InputError('--generation', 'picks a generation of a RUN; a checkpoint or .onnx file is one model already');
  // A local .onnx file on a local folder needs no bucket (and starts no embedded S3).
  const storage = !onnxFile || input.startsWith('s3:') ? await openStore(logger) : undefined;
  const opened: S3ObjectStore[] = [];
  try {
    let predictor: Predictor;
    if (onnxFile) {
      const bytes = await readFile(model).catch((err: NodeJS.ErrnoException) => {
        throw new InputError('MODEL', `cannot read ${model}: ${err.code ?? err.message}`, { cause: err });
      });
      predictor = await openOnnxPredictor(bytes, model);
    } else {
      const store = storage!.store;
      let key = checkpoint;
      if (key === undefined) {
        const record = await loadRunRecord(store, model);
        if (!record) throw new InputError('MODEL', `no run ${model} in bucket ${store.bucket} (MODEL is a run id, s3://KEY of a checkpoint, a key ending in model.json, or a .onnx file)`);
        key = checkpointOfRun(record, generation).key;
      }
      predictor = await openCheckpointPredictor(store, key, { engine: await checkpointEngine() });
    }
    try {
      if (topK !== undefined && predictor.task !== 'classification') throw new InputError('--top-k', `lists classes for classification; ${predictor.source} is a ${predictor.task} model`);
      // An s3:// input in any bucket of the configured endpoint, with the same credentials.
      const openBucket = storage && (async (bucket: string): Promise<ObjectStore> => {
        const s = await S3ObjectStore.connect({ ...storage.config, bucket, prefix: '', createBucket: false }, logger);
        opened.push(s);
        return s;
      });
      const images = await openImageInput(input, openBucket);
      const display = new ProgressDisplay();
      const result = await predictImages(predictor, images, out, { batchSize, topK, onProgress: (done, total) => display.update('predict', done, total) });
      const { height, width, channels, fit } = predictor.input;
      display.finish('predict', `${result.images} image(s), ${predictor.task} by ${predictor.source} (${height}x${width}x${channels}, ${fit})`);
      process.stdout.write(`${result.written.join('\n')}\n`);
      return 0;
    } finally {
      await predictor.close();
    }
  } finally {
    for (const s of opened) s.close();
    await storage?.close();
  }
}
