// `selftrain export`: the real CLI against an embedded S3 holding a checkpoint, its dataset's manifest and a
// run record that names it; no services, no training. The round trips themselves are libs/export's tests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RECORD_FORMAT, manifestKey } from '@selftrain/data';
import { buildModel } from '@selftrain/models';
import { saveRunRecord } from '@selftrain/pipeline/records';
import { DatasetManifest, RunRecord, onnx } from '@selftrain/proto';
import { saveModelToBucket } from '@selftrain/storage';
import { openTestBucket, runCli, type TestBucket } from './testing/cli-harness';

let bucket: TestBucket;
const CHECKPOINT = 'runs/tiny/gen-1/student/checkpoints/best/model.json';

before(async () => {
  bucket = await openTestBucket('export');
  const { store } = bucket;
  await store.putJson(manifestKey('datasets/tiny'), DatasetManifest.toJSON(DatasetManifest.fromPartial({
    name: 'tiny', classNames: ['a', 'b', 'c'], height: 28, width: 28, channels: 1, recordFormat: RECORD_FORMAT,
  })));
  const model = buildModel({ name: 'resnet-small', inputShape: [28, 28, 1], numClasses: 3, width: 0.25, stochasticDepth: 0.2, seed: 1 });
  const artifact = await saveModelToBucket(store, path.dirname(CHECKPOINT), model, { dataset: 'datasets/tiny', model: 'resnet-small', role: 'student' });
  model.dispose();
  await saveRunRecord(store, RunRecord.fromPartial({
    runId: 'tiny', dataset: 'datasets/tiny', state: 'succeeded',
    generations: [{ index: 0 }, { index: 1, studentCheckpoint: artifact }],
  }));
});

after(() => bucket.close());

const cli = (args: string[]) => runCli(args, bucket.env);

test('export RUN --format onnx writes the last generation\'s student as an ONNX file with its preprocessing', async () => {
  const out = path.join(bucket.home, 'out', 'student.onnx');
  const r = await cli(['export', 'tiny', '--format', 'onnx', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), out);
  const model = onnx.ModelProto.decode(readFileSync(out));
  const props = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
  assert.equal(props.checkpoint, CHECKPOINT);
  assert.deepEqual(JSON.parse(props.class_names), ['a', 'b', 'c']);
  assert.equal(model.graph?.output[0].name, 'logits');
});

test('export CHECKPOINT --format tfjs writes a stock model.json + weights.bin', async () => {
  const dir = path.join(bucket.home, 'tfjs');
  const r = await cli(['export', `s3://${CHECKPOINT}`, '--format', 'tfjs', '--out', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [path.join(dir, 'model.json'), path.join(dir, 'weights.bin')]);
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const classes: string[] = json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
  assert.ok(!classes.some((c) => c.startsWith('Selftrain') || c === 'Dropout'), classes.join());
});

test('bad input exits 2 naming it: unknown run, unknown format, missing generation, no --out', async () => {
  const cases: [string[], RegExp][] = [
    [['export', 'nope', '--format', 'onnx', '--out', 'x.onnx'], /RUN: no run nope/],
    [['export', 'tiny', '--format', 'pb', '--out', 'x'], /--format: unknown format "pb"; known: onnx, tfjs/],
    [['export', 'tiny', '--format', 'onnx', '--generation', '4', '--out', 'x.onnx'], /--generation: run tiny has no generation 4/],
    [['export', 'tiny', '--format', 'onnx', '--generation', '0', '--out', 'x.onnx'], /generation 0 of run tiny has no student checkpoint/],
    [['export', 'tiny', '--format', 'onnx'], /--out: give the \.onnx file/],
    [['export', 's3://runs/gone/model.json', '--format', 'onnx', '--out', 'x.onnx'], /no checkpoint runs\/gone\/model.json/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
