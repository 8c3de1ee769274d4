import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError } from '@selftrain/errors';
import { DatasetTask } from '@selftrain/proto';
import { ingestFashionMnistScenes, SCENE_CLASS_NAMES } from './ingest-scenes';
import { loadManifest, splitOf, taskOf } from './manifest';
import { readSplit } from './shard';
import { MemoryObjectStore } from '@selftrain/storage';

const SMALL = { labeled: 12, val: 6, unlabeled: 10, test: 8, shardSize: 5 };
const shas = (m: { splits: { shards: { sha256: string }[] }[] }) => m.splits.flatMap((s) => s.shards.map((x) => x.sha256));

test('scene dataset: seeded splits, both boxes and masks on labeled records, none on unlabeled, manifest last', async () => {
  const store = new MemoryObjectStore();
  const { manifest } = await ingestFashionMnistScenes(store, { ...SMALL, prefix: 'ds/scenes' });
  assert.equal(taskOf(manifest), 'detection');
  assert.equal(manifest.task, DatasetTask.DATASET_TASK_DETECTION);
  assert.deepEqual(manifest.classNames, SCENE_CLASS_NAMES);
  assert.deepEqual([manifest.height, manifest.width, manifest.channels], [96, 96, 1]);
  assert.deepEqual(manifest.splits.map((s) => [s.name, s.records, s.shards.length, s.labeled]), [
    ['labeled', 12, 3, true],
    ['val', 6, 2, true],
    ['unlabeled', 10, 2, false],
    ['test', 8, 2, true],
  ]);
  assert.equal(store.calls.filter((c) => c.startsWith('put ')).at(-1), 'put ds/scenes/manifest.json');
  assert.deepEqual(await loadManifest(store, 'ds/scenes'), manifest);

  const labeled = await readSplit(store, manifest, 'labeled');
  const boxes = labeled.flatMap((r) => r.objects!);
  assert.ok(labeled.every((r) => r.objects!.length >= 1 && r.objects!.length <= 6 && r.mask!.length === 96 * 96));
  assert.ok(boxes.every((o) => o.label >= 1 && o.label <= 10 && o.area! > 0));
  // class_counts counts boxes per class (index 0, the background, never has one).
  const counts = new Array(11).fill(0);
  for (const o of boxes) counts[o.label]++;
  assert.deepEqual(splitOf(manifest, 'labeled').classCounts, counts);
  assert.ok((await readSplit(store, manifest, 'unlabeled')).every((r) => r.objects === undefined && r.mask === undefined));
  assert.deepEqual(splitOf(manifest, 'unlabeled').classCounts, []);
});

test('same seed, same bytes; another seed, other scenes; segmentation task counts records per class', async () => {
  const a = await ingestFashionMnistScenes(new MemoryObjectStore(), SMALL);
  const b = await ingestFashionMnistScenes(new MemoryObjectStore(), SMALL);
  assert.deepEqual(shas(a.manifest), shas(b.manifest));
  const c = await ingestFashionMnistScenes(new MemoryObjectStore(), { ...SMALL, seed: 1 });
  assert.ok(shas(a.manifest).every((s, i) => s !== shas(c.manifest)[i]));

  const store = new MemoryObjectStore();
  const seg = await ingestFashionMnistScenes(store, { ...SMALL, task: 'segmentation', prefix: 'seg' });
  assert.equal(taskOf(seg.manifest), 'segmentation');
  assert.equal(seg.manifest.ignoreLabel, 255);
  const test = await readSplit(store, seg.manifest, 'test');
  const perClass = new Array(11).fill(0);
  for (const r of test) for (const c of new Set(r.mask!)) perClass[c]++;
  assert.deepEqual(splitOf(seg.manifest, 'test').classCounts, perClass);
  assert.equal(perClass[0], 8, 'every scene shows background');
});

test('the same options again reuse the dataset and write nothing; other options conflict, naming each difference', async () => {
  const store = new MemoryObjectStore();
  const first = await ingestFashionMnistScenes(store, { ...SMALL, prefix: 'ds/again' });
  const puts = store.calls.filter((c) => c.startsWith('put ')).length;
  const again = await ingestFashionMnistScenes(store, { ...SMALL, prefix: 'ds/again' });
  assert.equal(again.reused, true);
  assert.deepEqual(again.manifestArtifact, first.manifestArtifact);
  assert.equal(store.calls.filter((c) => c.startsWith('put ')).length, puts);
  await assert.rejects(ingestFashionMnistScenes(store, { ...SMALL, prefix: 'ds/again', unlabeled: 11, task: 'segmentation' }),
    (e: unknown) => e instanceof ConflictError && e.message.includes('unlabeled 10 (requested 11)') && e.message.includes('task detection (requested segmentation)'));
});
