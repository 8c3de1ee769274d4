import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, InputError, NotFoundError } from '@selftrain/errors';
import { DatasetManifest } from '@selftrain/proto';
import { readIdxImages, readIdxLabels } from './idx';
import { decodeImageExampleLabels, type ImageRecord } from './image-example';
import {
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_COARSE_CLASS_NAMES,
  FASHION_MNIST_COARSE_OF_FINE,
  hiddenLabelsKey,
  ingestFashionMnist,
  loadHiddenLabels,
  type IngestFashionMnistOptions,
} from './ingest-fashion-mnist';
import { loadManifest, manifestKey, splitOf } from './manifest';
import { streamShards } from './shard';
import { MemoryObjectStore } from '@selftrain/storage';
import { iterateTFRecords } from './tfrecord';

const DIR = '/usr/share/datasets/fashion-mnist';
const SMALL: IngestFashionMnistOptions = { prefix: 'ds/fm', limitTrain: 3000, limitTest: 500, labelsPerClass: 20, valPerClass: 10, shardSize: 500 };

async function all(store: MemoryObjectStore, manifest: DatasetManifest, split: string): Promise<ImageRecord[]> {
  const out: ImageRecord[] = [];
  for await (const r of streamShards(store, splitOf(manifest, split).shards, { verifySha256: true })) out.push(r);
  return out;
}

const shaList = (m: DatasetManifest) => m.splits.flatMap((s) => s.shards.map((sh) => `${sh.key} ${sh.sha256}`));

test('small ingest: split sizes, per-class counts, disjoint splits, hidden labels, manifest last', async () => {
  const store = new MemoryObjectStore();
  const progress: number[] = [];
  const { manifest, manifestArtifact, reused } = await ingestFashionMnist(store, { ...SMALL, onProgress: (d, t) => progress.push(d / t) });
  assert.equal(reused, false);
  assert.equal(manifestArtifact.key, 'ds/fm/manifest.json');
  assert.deepEqual(manifest.classNames, [...FASHION_MNIST_CLASS_NAMES]);
  assert.deepEqual([manifest.height, manifest.width, manifest.channels, manifest.seed, manifest.labelsPerClass], [28, 28, 1, 0, 20]);
  assert.equal(manifest.recordFormat, 'tfrecord/tf.train.Example');
  assert.deepEqual(manifest.splits.map((s) => [s.name, s.records, s.shards.length, s.labeled]), [
    ['labeled', 200, 1, true],
    ['val', 100, 1, true],
    ['unlabeled', 2700, 6, false],
    ['test', 500, 1, true],
  ]);
  assert.deepEqual(splitOf(manifest, 'labeled').classCounts, new Array(10).fill(20));
  assert.deepEqual(splitOf(manifest, 'val').classCounts, new Array(10).fill(10));
  assert.deepEqual(splitOf(manifest, 'unlabeled').classCounts, []);
  assert.equal(splitOf(manifest, 'unlabeled').shards[2].key, 'ds/fm/unlabeled/unlabeled-00002-of-00006.tfrecord');
  assert.equal(progress.at(-1), 1);

  // Manifest is the final write, and what is stored is what was returned.
  assert.equal(store.calls.filter((c) => c.startsWith('put ')).at(-1), 'put ds/fm/manifest.json');
  assert.deepEqual(await loadManifest(store, 'ds/fm'), manifest);

  const labeled = await all(store, manifest, 'labeled');
  const val = await all(store, manifest, 'val');
  const unlabeled = await all(store, manifest, 'unlabeled');
  const testSplit = await all(store, manifest, 'test');
  const perClass = new Array(10).fill(0);
  for (const r of labeled) perClass[r.label!]++;
  assert.deepEqual(perClass, new Array(10).fill(20));

  const trainKeys = [...labeled, ...val, ...unlabeled].map((r) => r.key);
  assert.equal(new Set(trainKeys).size, 3000, 'labeled, val and unlabeled are disjoint and cover train');
  assert.equal(new Set(testSplit.map((r) => r.key)).size, 500);

  // Unlabeled records carry no label feature at all; the hidden labels hold the truth.
  assert.ok(unlabeled.every((r) => r.label === undefined));
  const sh = await store.get(splitOf(manifest, 'unlabeled').shards[0].key);
  for (const { data } of iterateTFRecords(sh, 'u')) assert.equal(decodeImageExampleLabels(data, 'u').label, undefined);
  const hidden = await loadHiddenLabels(store, 'ds/fm');
  const srcLabels = readIdxLabels(`${DIR}/train-labels-idx1-ubyte.gz`);
  assert.equal(hidden.size, 2700);
  for (const r of unlabeled) assert.equal(hidden.get(r.key), srcLabels[Number(r.key.slice(6))]);
  assert.ok(await store.exists(hiddenLabelsKey('ds/fm')));

  // Pixels and labels are the source's.
  const src = readIdxImages(`${DIR}/train-images-idx3-ubyte.gz`);
  for (const r of labeled.slice(0, 20)) {
    const i = Number(r.key.slice(6));
    assert.deepEqual(r.image, src.data.subarray(i * 784, (i + 1) * 784));
    assert.equal(r.label, srcLabels[i]);
  }
});

test('same seed gives identical shards; another seed draws other labeled images', async () => {
  const storeA = new MemoryObjectStore();
  const a = await ingestFashionMnist(storeA, SMALL);
  const b = await ingestFashionMnist(new MemoryObjectStore(), SMALL);
  assert.deepEqual(shaList(a.manifest), shaList(b.manifest));
  const storeC = new MemoryObjectStore();
  const c = await ingestFashionMnist(storeC, { ...SMALL, seed: 1 });
  assert.notDeepEqual(shaList(a.manifest), shaList(c.manifest));
  const la = new Set((await all(storeA, a.manifest, 'labeled')).map((r) => r.key));
  const lc = (await all(storeC, c.manifest, 'labeled')).map((r) => r.key);
  assert.ok(lc.filter((k) => la.has(k)).length < lc.length / 2, 'seeds draw mostly different labeled images');
});

test('rerun with the same options reuses and writes nothing; changed options conflict', async () => {
  const store = new MemoryObjectStore();
  const first = await ingestFashionMnist(store, SMALL);
  const puts = () => store.calls.filter((c) => c.startsWith('put ')).length;
  const before = puts();
  const again = await ingestFashionMnist(store, SMALL);
  assert.equal(again.reused, true);
  assert.equal(puts(), before);
  assert.deepEqual(again.manifest, first.manifest);
  assert.deepEqual(again.manifestArtifact, first.manifestArtifact);

  const conflict = (option: string) => (e: unknown) => e instanceof ConflictError && e.message.includes(option);
  await assert.rejects(ingestFashionMnist(store, { ...SMALL, labelsPerClass: 21 }), conflict('labelsPerClass 20 (requested 21)'));
  await assert.rejects(ingestFashionMnist(store, { ...SMALL, shardSize: 400 }), conflict('shardSize'));
  await assert.rejects(ingestFashionMnist(store, { ...SMALL, seed: 3 }), conflict('seed'));
  await assert.rejects(ingestFashionMnist(store, { ...SMALL, limitTest: undefined }), conflict('limitTest'));
  assert.equal(puts(), before);
});

test('input errors name the field and the missing file', async () => {
  const store = new MemoryObjectStore();
  await assert.rejects(
    ingestFashionMnist(store, { ...SMALL, sourceDir: '/nonexistent/fm' }),
    (e: unknown) => e instanceof InputError && e.field === 'sourceDir' && /\/nonexistent\/fm/.test(e.message),
  );
  const dir = mkdtempSync(join(tmpdir(), 'fm-'));
  try {
    copyFileSync(`${DIR}/train-images-idx3-ubyte.gz`, join(dir, 'train-images-idx3-ubyte.gz'));
    await assert.rejects(
      ingestFashionMnist(store, { ...SMALL, sourceDir: dir }),
      (e: unknown) => e instanceof InputError && e.field === 'sourceDir' && e.message.includes(join(dir, 'train-labels-idx1-ubyte.gz')),
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
  await assert.rejects(
    ingestFashionMnist(store, { ...SMALL, limitTrain: 200 }),
    (e: unknown) => e instanceof InputError && e.field === 'labelsPerClass' && /exceeds/.test(e.message),
  );
  await assert.rejects(ingestFashionMnist(store, { ...SMALL, shardSize: 0 }), (e: unknown) => e instanceof InputError && e.field === 'shardSize');
  assert.equal(await store.exists(manifestKey('ds/fm')), false);
  await assert.rejects(loadManifest(store, 'ds/fm'), (e: unknown) => e instanceof NotFoundError && e.what === 'dataset ds/fm');
});

test('the coarse label space: the same images under four groups, per-group draws, and no reuse across spaces', async () => {
  const store = new MemoryObjectStore();
  const fine = readIdxLabels(`${DIR}/train-labels-idx1-ubyte.gz`);
  const coarse = await ingestFashionMnist(store, { ...SMALL, prefix: 'ds/coarse', labelSpace: 'coarse' });
  assert.equal(coarse.manifest.name, 'fashion-mnist-coarse');
  assert.deepEqual(coarse.manifest.classNames, [...FASHION_MNIST_COARSE_CLASS_NAMES]);
  assert.deepEqual(splitOf(coarse.manifest, 'labeled').classCounts, [20, 20, 20, 20]);
  assert.deepEqual(splitOf(coarse.manifest, 'val').classCounts, [10, 10, 10, 10]);
  // Every record's label is its image's fine class mapped through the grouping.
  const labeled = await all(store, coarse.manifest, 'labeled');
  for (const r of labeled) assert.equal(r.label, FASHION_MNIST_COARSE_OF_FINE[fine[Number(r.key.slice('train-'.length))]], r.key);
  const hidden = await loadHiddenLabels(store, 'ds/coarse');
  assert.ok([...hidden.values()].every((l) => l >= 0 && l < 4));
  // A prefix holding the fine dataset is not silently reused as the coarse one, nor the reverse.
  await ingestFashionMnist(store, SMALL);
  await assert.rejects(ingestFashionMnist(store, { ...SMALL, labelSpace: 'coarse' }), (e: unknown) => e instanceof ConflictError && e.message.includes('labelSpace fine (requested coarse)'));
  await assert.rejects(ingestFashionMnist(store, { ...SMALL, prefix: 'ds/coarse' }), (e: unknown) => e instanceof ConflictError && e.message.includes('labelSpace coarse (requested fine)'));
  await assert.rejects(ingestFashionMnist(store, { ...SMALL, prefix: 'ds/x', labelSpace: 'medium' as never }), (e: unknown) => e instanceof InputError && e.field === 'labelSpace');
});
