/**
 * Labeling on two engines, one run, same machine: a trained classification checkpoint, exported to ONNX,
 * labels the same unlabeled shards (a) on the TF.js path, the labeler's classificationLabeler on the
 * checkpoint as the labeler loads it (ModelCache: batch norms folded), and (b) on onnxruntime-node through
 * libs/predict's ONNX predictor, the same selection (selectPseudoLabels) after it. Both engines get the
 * same thread count (`--threads`, default 1: a labeler's, one per core). Prints img/s of each (best of 3
 * passes, engines alternating, so a ratio compares like with like on a shared machine) and every kept label
 * that differs, with whether its confidence is within 1e-4 of the threshold. Shards are decoded before
 * timing: both engines get the same records in memory, and the figure is inference + selection only.
 * The checkpoint: by default the default student, cnn-small, trained here for `--steps` steps of 64 on
 * Fashion-MNIST's labeled split; or `--checkpoint KEY --dataset PREFIX` in the configured bucket (S3_*
 * variables, else the embedded endpoint under SELFTRAIN_HOME), e.g. a CIFAR-10 run's student.
 *   node tools/bench/dist/bench-labeling.js [--shards N] [--steps N] [--threads N] [--checkpoint KEY --dataset PREFIX]
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { ModelCache, inputMetadata, inputShapeOf } from '@selftrain/checkpoints';
import { initBackend, setNativeThreads } from '@selftrain/compute';
import { ingestFashionMnist, loadManifest, readShard, splitOf, type ImageRecord } from '@selftrain/data';
import { exportCheckpoint } from '@selftrain/export';
import { CLASSIFICATION_LABEL_BATCH, classificationLabeler, resolveLabelingOptions, selectPseudoLabels } from '@selftrain/labeling';
import { createLogger } from '@selftrain/logger';
import { buildModel } from '@selftrain/models';
import { openStore } from '@selftrain/pipeline';
import { openOnnxPredictor, type ClassificationPredictor } from '@selftrain/predict';
import type { DatasetManifest } from '@selftrain/proto';
import { MemoryObjectStore, saveModelToBucket, type ObjectStore } from '@selftrain/storage';
import { trainClassifier, trainDefaults, type Example } from '@selftrain/train';

export interface LabelingEnginesBench {
  checkpoint: string;
  threads: number;
  images: number;
  shards: number;
  threshold: number;
  imgPerS: { tfjs: number; onnxruntime: number };
  /** onnxruntime / tfjs img/s. */
  speedup: number;
  kept: { tfjs: number; onnxruntime: number };
  /** Records kept by one engine and not the other, or kept with another class; each with both confidences. */
  differences: { key: string; tfjs?: { label: number; confidence: number }; onnxruntime?: { label: number; confidence: number }; withinThreshold1e4: boolean }[];
  /** True when every difference has a confidence within 1e-4 of the threshold (the issue's bar). */
  allDifferencesAtThreshold: boolean;
}

const DATASET = 'datasets/fashion-mnist';
const CHECKPOINT = 'bench/labeling/checkpoint/model.json';

export interface LabelingBenchOptions {
  shards?: number;
  /** Training steps of the default checkpoint. */
  steps?: number;
  /** Threads of each engine (native kernels / onnxruntime intra-op); default 1. */
  threads?: number;
  /** A classification checkpoint in the configured bucket, and its dataset's prefix, instead of the default. */
  checkpoint?: string;
  dataset?: string;
}

/** The default checkpoint: the default student trained on Fashion-MNIST's labeled split, saved as a job saves it. */
async function trainedDefaultStudent(steps: number): Promise<{ store: ObjectStore; manifest: DatasetManifest; checkpoint: string; dataset: string }> {
  const store = new MemoryObjectStore('bench-labeling');
  const { manifest } = await ingestFashionMnist(store, { prefix: DATASET });
  const shape = inputShapeOf(manifest);
  const numClasses = manifest.classNames.length;
  const labeled = (await Promise.all(splitOf(manifest, 'labeled').shards.map(async (s) => readShard(await store.get(s.key), s.key)))).flat();
  const examples: Example[] = labeled.map((r) => ({ image: r.image, label: r.label ?? 0 }));
  const options = trainDefaults('classification', 'student');
  const trained = buildModel({ name: 'cnn-small', inputShape: [shape.height, shape.width, shape.channels], numClasses, width: options.width, dropout: options.dropout, seed: 1 });
  await trainClassifier({
    model: trained, shape, numClasses, labeled: examples, validation: examples.slice(0, 200), backend: 'wasm',
    options: { ...options, maxSteps: steps, batchSize: 64, evalEvery: 100_000, checkpointEvery: 100_000, augment: 'none', warmupSteps: 20 },
    saveCheckpoint: async () => ({ key: 'unused', sha256: '', sizeBytes: 0 }),
  });
  await saveModelToBucket(store, path.dirname(CHECKPOINT), trained, { dataset: DATASET, model: 'cnn-small', role: 'teacher', ...inputMetadata(shape) });
  trained.dispose();
  return { store, manifest, checkpoint: CHECKPOINT, dataset: DATASET };
}

export async function benchLabelingEngines(opts: LabelingBenchOptions = {}): Promise<LabelingEnginesBench> {
  await initBackend({ purpose: 'train' });
  const threads = opts.threads ?? 1;
  setNativeThreads(threads);
  let close = async () => {};
  let source: { store: ObjectStore; manifest: DatasetManifest; checkpoint: string; dataset: string };
  if (opts.checkpoint) {
    if (!opts.dataset) throw new Error('--checkpoint needs --dataset (the prefix of the dataset it labels)');
    const opened = await openStore(createLogger('bench-labeling', 'warn', 2));
    close = opened.close;
    source = { store: opened.store, manifest: await loadManifest(opened.store, opts.dataset), checkpoint: opts.checkpoint, dataset: opts.dataset };
  } else {
    source = await trainedDefaultStudent(opts.steps ?? 200);
  }
  const { store, manifest } = source;
  const numClasses = manifest.classNames.length;
  const { model } = await new ModelCache(store).get(source.checkpoint);
  const exported = await exportCheckpoint(store, source.checkpoint, 'onnx');
  const predictor = await openOnnxPredictor(exported.files[0].bytes, 'model.onnx', { threads }) as ClassificationPredictor;
  const shards = splitOf(manifest, 'unlabeled').shards.slice(0, opts.shards ?? 4);
  const records = await Promise.all(shards.map(async (s) => readShard(await store.get(s.key), s.key)));
  const images = records.reduce((n, r) => n + r.length, 0);
  const labelingOptions = resolveLabelingOptions(undefined);

  // (a) today's path: the labeler's own classification labeling, shard by shard.
  const tfjsPass = async () => {
    const kept = new Map<string, { label: number; confidence: number }>();
    for (const [i, shardRecords] of records.entries()) {
      const labeling = classificationLabeler.resolve({ checkpoint: source.checkpoint, dataset: source.dataset, shard: shards[i].key, outputPrefix: 'bench/out', options: labelingOptions }, manifest);
      const out = await labeling.label(model, shardRecords);
      for (const r of out.records) kept.set(r.key, { label: r.label!, confidence: r.confidence! });
    }
    return kept;
  };
  // (b) onnxruntime: the same batches, the same selection.
  const onnxPass = async () => {
    const kept = new Map<string, { label: number; confidence: number }>();
    for (const shardRecords of records) {
      const predictions = await onnxPredictions(predictor, shardRecords);
      for (const i of selectPseudoLabels(predictions, numClasses, labelingOptions).kept) kept.set(shardRecords[i].key, { label: predictions[i].label, confidence: predictions[i].confidence });
    }
    return kept;
  };
  await tfjsPass();
  await onnxPass();
  let best = { tfjs: 0, onnxruntime: 0 };
  let kept = { tfjs: new Map<string, { label: number; confidence: number }>(), onnxruntime: new Map<string, { label: number; confidence: number }>() };
  for (let pass = 0; pass < 3; pass++) {
    for (const engine of pass % 2 === 0 ? (['tfjs', 'onnxruntime'] as const) : (['onnxruntime', 'tfjs'] as const)) {
      const t0 = performance.now();
      kept[engine] = await (engine === 'tfjs' ? tfjsPass() : onnxPass());
      best = { ...best, [engine]: Math.max(best[engine], images / ((performance.now() - t0) / 1000)) };
    }
  }
  model.dispose();
  await predictor.close();
  await close();

  // Confidences of every record on both engines, for the differences.
  const threshold = labelingOptions.threshold;
  const differences: LabelingEnginesBench['differences'] = [];
  for (const key of new Set([...kept.tfjs.keys(), ...kept.onnxruntime.keys()])) {
    const a = kept.tfjs.get(key);
    const b = kept.onnxruntime.get(key);
    if (a && b && a.label === b.label) continue;
    const confidences = [a?.confidence, b?.confidence].filter((c): c is number => c !== undefined);
    differences.push({ key, tfjs: a, onnxruntime: b, withinThreshold1e4: confidences.some((c) => Math.abs(c - threshold) <= 1e-4) });
  }
  return {
    checkpoint: source.checkpoint, threads, images, shards: shards.length, threshold,
    imgPerS: { tfjs: Math.round(best.tfjs), onnxruntime: Math.round(best.onnxruntime) },
    speedup: +(best.onnxruntime / best.tfjs).toFixed(2),
    kept: { tfjs: kept.tfjs.size, onnxruntime: kept.onnxruntime.size },
    differences,
    allDifferencesAtThreshold: differences.every((d) => d.withinThreshold1e4),
  };
}

/** Argmax and confidence per record from the ONNX predictor, in the labeler's batch size. */
async function onnxPredictions(predictor: ClassificationPredictor, records: ImageRecord[]): Promise<{ index: number; label: number; confidence: number }[]> {
  const out: { index: number; label: number; confidence: number }[] = [];
  for (let from = 0; from < records.length; from += CLASSIFICATION_LABEL_BATCH) {
    const probs = await predictor.predict(records.slice(from, from + CLASSIFICATION_LABEL_BATCH).map((r) => r.image));
    probs.forEach((p, i) => {
      let label = 0;
      for (let c = 1; c < p.length; c++) if (p[c] > p[label]) label = c;
      out.push({ index: from + i, label, confidence: p[label] });
    });
  }
  return out;
}

export function labelingEngineLines(b: LabelingEnginesBench): string[][] {
  const atThreshold = b.differences.filter((d) => d.withinThreshold1e4).length;
  return [
    [`labeling img/s in-process, TF.js (the labeler's checkpoint path), ${b.threads} thread(s), ${b.images} images in ${b.shards} shards`, String(b.imgPerS.tfjs)],
    [`labeling img/s in-process, onnxruntime-node (the checkpoint exported to ONNX), ${b.threads} thread(s)`, String(b.imgPerS.onnxruntime)],
    ['  onnxruntime / TF.js', `${b.speedup}x`],
    [`  kept labels (threshold ${b.threshold}): TF.js / onnxruntime`, `${b.kept.tfjs} / ${b.kept.onnxruntime}`],
    ['  kept labels that differ (of them within 1e-4 of the threshold)', `${b.differences.length} (${atThreshold})`],
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { shards: { type: 'string' }, steps: { type: 'string' }, threads: { type: 'string' }, checkpoint: { type: 'string' }, dataset: { type: 'string' } }, strict: true });
  const n = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const b = await benchLabelingEngines({ shards: n(values.shards), steps: n(values.steps), threads: n(values.threads), checkpoint: values.checkpoint, dataset: values.dataset });
  process.stdout.write(`${labelingEngineLines(b).map(([k, v]) => `${k.padEnd(80)} ${v}`).join('\n')}\n\n${JSON.stringify(b, null, 2)}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
