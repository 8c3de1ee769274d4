import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { manifestKey, RECORD_FORMAT, TASK_ENUM } from '@selftrain/data';
import { DatasetManifest } from '@selftrain/proto';
import { MemoryObjectStore } from '@selftrain/storage';
import { datasetInput, loadSpecFileForStore } from './dataset-input';
import { validateSpec } from './spec';

const manifest = (height: number, width: number, channels: number, task = TASK_ENUM.classification) =>
  DatasetManifest.fromPartial({ name: 'd', height, width, channels, task, classNames: ['a', 'b'], recordFormat: RECORD_FORMAT });

test('datasetInput: photos unless 28x28 grey; only classification has an input', () => {
  assert.equal(datasetInput(manifest(28, 28, 1)), undefined);
  assert.equal(datasetInput(manifest(32, 32, 3)), 'photos');
  assert.equal(datasetInput(manifest(28, 28, 3)), 'photos');
  assert.equal(datasetInput(manifest(64, 64, 1)), 'photos');
  assert.equal(datasetInput(manifest(128, 128, 3, TASK_ENUM.detection)), undefined);
});

test('dataset.source bucket: a dataset of photos gets the photos defaults (resnet18, one generation), 28x28 grey and a missing dataset the Fashion-MNIST ones, and what the spec says wins', async () => {
  const store = new MemoryObjectStore();
  await store.putJson(manifestKey('datasets/photos'), DatasetManifest.toJSON(manifest(32, 32, 3)));
  await store.putJson(manifestKey('datasets/grey'), DatasetManifest.toJSON(manifest(28, 28, 1)));
  const dir = mkdtempSync(path.join(tmpdir(), 'dataset-input-'));
  const spec = (name: string, text: string) => {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    return loadSpecFileForStore(file, store);
  };
  const photos = await spec('photos', 'dataset:\n  source: bucket\n  prefix: datasets/photos\n');
  const images = validateSpec({ dataset: { source: 'images', labeled: '/a', test: '/b', unlabeled: ['/c'] } });
  assert.deepEqual([photos.teacher.model, photos.student.model, photos.generations], ['resnet18', 'resnet18', 1]);
  // The same loop settings as a spec naming the photos' folders.
  assert.deepEqual([photos.teacher, photos.student, photos.labeling], [images.teacher, images.student, images.labeling]);
  for (const name of ['grey', 'missing']) {
    const s = await spec(name, `dataset:\n  source: bucket\n  prefix: datasets/${name}\n`);
    assert.deepEqual([s.teacher.model, s.student.model, s.generations], ['cnn-small', 'cnn-small', 2], name);
  }
  const mine = await spec('mine', 'generations: 2\ndataset:\n  source: bucket\n  prefix: datasets/photos\nteacher:\n  model: resnet-small\n');
  assert.deepEqual([mine.teacher.model, mine.student.model, mine.generations], ['resnet-small', 'resnet18', 2]);
  // Dense tasks keep their own models whatever the dataset.
  const det = await spec('det', 'task: detection\ndataset:\n  source: bucket\n  prefix: datasets/photos\n');
  assert.equal(det.teacher.model, 'retinanet');
});
