import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { photoBytes, readSplit, splitOf } from '@selftrain/data';
import { S3ObjectStore, startEmbeddedS3 } from '@selftrain/storage';
import { ingestRunDataset } from './ingest-spec-dataset';
import { ProgressDisplay } from './progress-display';
import { loadSpecFile } from './spec';

const jpeg = (seed: number) => photoBytes({ width: 16, height: 12, background: (seed * 29) % 256, rects: [{ x0: seed % 8, y0: 2, x1: 12, y1: 10, rgb: [seed % 256, 90, 200] }] });

test('a spec\'s unlabeled pools may be s3:// prefixes of raw JPEGs on the endpoint: another bucket and the run\'s own', async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'spec-s3-pool-'));
  const s3 = await startEmbeddedS3({ directory: path.join(work, 's3'), port: 0 });
  const store = await S3ObjectStore.connect({ ...s3.config, createBucket: true });
  const raw = await S3ObjectStore.connect({ ...s3.config, bucket: 'raw-images', createBucket: true });
  try {
    let seed = 1;
    for (const split of ['train', 'test']) {
      for (const c of ['cat', 'dog']) {
        mkdirSync(path.join(work, split, c), { recursive: true });
        for (let i = 0; i < 3; i++) writeFileSync(path.join(work, split, c, `${i}.jpg`), await jpeg(seed++));
      }
    }
    for (let i = 0; i < 4; i++) await raw.put(`imagenet/train/n0${i}.jpg`, await jpeg(seed++));
    await store.put('pool/p.jpg', await jpeg(seed++));
    const file = path.join(work, 'photos.yaml');
    writeFileSync(file, `dataset:\n  source: images\n  labeled: train\n  test: test\n  val_per_class: 0\n  unlabeled: [s3://raw-images/imagenet/train/, s3://${store.bucket}/pool]\n`);
    const spec = loadSpecFile(file);
    const quiet = new ProgressDisplay({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream);
    const r = await ingestRunDataset(store, spec, quiet);
    assert.equal(r.reused, false);
    const keys = (await readSplit(store, r.manifest, 'unlabeled')).map((rec) => rec.key).sort();
    assert.deepEqual(keys, ['unlabeled-0/n00.jpg', 'unlabeled-0/n01.jpg', 'unlabeled-0/n02.jpg', 'unlabeled-0/n03.jpg', 'unlabeled-1/p.jpg']);
    assert.deepEqual(splitOf(r.manifest, 'labeled').classCounts, [3, 3]);
    assert.equal(splitOf(r.manifest, 'test').records, 6);
    // The pools are part of what keys the dataset: the same spec again reuses it.
    assert.equal((await ingestRunDataset(store, spec, quiet)).reused, true);
  } finally {
    store.close();
    raw.close();
    await s3.close();
    rmSync(work, { recursive: true, force: true });
  }
});
