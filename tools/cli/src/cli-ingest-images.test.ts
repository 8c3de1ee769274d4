// `selftrain ingest images` and the argument parser, in a child process against a bucket on loopback: the
// command's flags (`--flag value` and `--flag=value`, a repeated --unlabeled, an s3:// pool), its exit codes
// on bad files, and that `run --help` or a bad flag starts nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DatasetManifest } from '@selftrain/proto';
import { S3ObjectStore } from '@selftrain/storage';
import { openTestBucket, runCli, type TestBucket } from './testing/cli-harness';

let bucket: TestBucket;
let raw: S3ObjectStore;
let labeled: string;

// Four CIFAR-10 test JPEGs (32x32), kept in libs/data for its decoder tests.
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'libs', 'data', 'fixtures', 'cifar10');
const jpegs = ['airplane-0000', 'cat-0001', 'frog-0003', 'ship-0002'].map((n) => readFileSync(path.join(FIXTURES, `${n}.jpg`)));

before(async () => {
  bucket = await openTestBucket('ingest-images');
  raw = await S3ObjectStore.connect({ ...bucket.s3.config, bucket: 'raw-photos', createBucket: true });
  // Two classes of four images each (the fixtures, in different orders).
  labeled = path.join(bucket.home, 'labeled');
  for (const [c, cls] of ['cat', 'ship'].entries()) {
    mkdirSync(path.join(labeled, cls), { recursive: true });
    jpegs.forEach((_, i) => writeFileSync(path.join(labeled, cls, `${i}.jpg`), jpegs[(i + c) % 4]));
  }
  for (let i = 0; i < 3; i++) await raw.put(`pool/${i}.jpg`, jpegs[i]);
});

after(async () => {
  raw.close();
  await bucket.close();
});

const cli = (args: string[]) => runCli(args, bucket.env);

test('ingest images: labels per class, a directory and an s3:// pool, --flag=value; the rerun reuses it', async () => {
  const pool = path.join(bucket.home, 'pool');
  mkdirSync(pool);
  writeFileSync(path.join(pool, 'p.jpg'), jpegs[3]);
  const args = ['ingest', 'images', '--labeled', labeled, '--labels-per-class=2', '--val-per-class', '1', '--unlabeled', pool, '--unlabeled=s3://raw-photos/pool', '--image-size=24', '--prefix', 'datasets/mine'];
  const r = await cli(args);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /ingest: written: datasets\/mine\/manifest\.json \(labeled 4, val 2, unlabeled 6\)/);
  assert.match(r.stderr, /dataset: datasets\/mine \(24x24x3/);
  const manifest = DatasetManifest.fromJSON(await bucket.store.getJson('datasets/mine/manifest.json'));
  assert.deepEqual(manifest.classNames, ['cat', 'ship']);
  assert.equal(manifest.resizePolicy, 'center-crop');
  assert.equal(manifest.channelMean.length, 3);
  const again = await cli(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /ingest: already there: datasets\/mine\/manifest\.json/);
});

test('ingest images: a bad file exits 2 naming it; --skip-bad leaves it out and prints the count', async () => {
  const withBad = path.join(bucket.home, 'with-bad');
  for (const cls of ['a', 'b']) {
    mkdirSync(path.join(withBad, cls), { recursive: true });
    jpegs.forEach((b, i) => writeFileSync(path.join(withBad, cls, `${i}.jpg`), b));
  }
  const truncated = path.join(withBad, 'b', 'cut.jpg');
  writeFileSync(truncated, jpegs[0].subarray(0, 300));
  const failed = await cli(['ingest', 'images', '--labeled', withBad, '--val-per-class', '0', '--prefix', 'datasets/bad']);
  assert.equal(failed.status, 2, failed.stderr);
  assert.match(failed.stderr, new RegExp(`error: ${truncated.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not a valid JPEG`));
  assert.equal(await bucket.store.exists('datasets/bad/manifest.json'), false);
  const skipped = await cli(['ingest', 'images', '--labeled', withBad, '--val-per-class', '0', '--prefix', 'datasets/bad', '--skip-bad']);
  assert.equal(skipped.status, 0, skipped.stderr);
  assert.match(skipped.stderr, /skipped 1 bad file\(s\)/);
  assert.match(skipped.stderr, /labeled 8\)/);
});

test('flags: unknown ones, missing values, bad numbers and extra arguments exit 2 naming them, before any work', async () => {
  const cases: [string[], RegExp][] = [
    [['run', '--bogus'], /error: --bogus: unknown option for selftrain run \(see selftrain run --help\)/],
    [['run', 'spec.yaml', '--resume', 'x'], /error: --resume: give a spec file or --resume RUN, not both/],
    [['status', 'done', '--json=yes'], /error: --json: Option '--json' does not take an argument/],
    [['show', 'r', '--count'], /error: --count: needs a value/],
    [['report', 'a', 'b'], /error: b: unexpected argument for selftrain report/],
    [['ingest', 'images'], /error: --labeled: is required/],
    [['ingest', 'images', '--labeled', 'x', '--image-size', '3y4'], /error: --image-size: must be N or HxW/],
    [['ingest', 'images', '--labeled', 'x', '--resize', 'squash'], /error: --resize: must be one of stretch, letterbox, center-crop/],
    [['ingest', 'images', '--labeled', 'x', '--channels', '2'], /error: --channels: must be 1 or 3/],
    [['ingest', 'images', '--labeled', 'x', '--seed', 'abc'], /error: --seed: must be an integer >= 0, got "abc"/],
    [['ingest', 'images', '--labeled', path.join(bucket.home, 'nowhere')], /error: labeledDir: directory not found/],
    [['ingest', 'cifar'], /error: SOURCE: unknown ingest source "cifar"; supported: fashion-mnist, images, coco, voc/],
    [['up', '--labelers', '0'], /error: --labelers: must be an integer in \[1, 64\]/],
  ];
  for (const [args, says] of cases) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, says, args.join(' '));
  }
});

test('run --help prints the run help and starts nothing (no services, no run record)', async () => {
  const started = Date.now();
  const r = await cli(['run', '--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^usage:\n {2}selftrain run \[SPEC\.yaml\|SPEC\.json\]/);
  assert.ok(Date.now() - started < 20_000, 'answered at once');
  assert.equal(existsSync(path.join(bucket.home, 'services')), false, 'no service was started');
  assert.deepEqual(await bucket.store.list('runs/'), [], 'no run was recorded');
});
