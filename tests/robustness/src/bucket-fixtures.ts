// What the tests put in the bucket from outside, the way a user's own S3 client would: a tiny dataset
// and checkpoint that work, and damaged copies of each. Written as bytes, not through the services' libs,
// so nothing here depends on how the services write them.
import { manifestKey, RECORD_FORMAT, writeShard, type ImageRecord } from '@selftrain/data';
import { DatasetManifest, type Shard } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';

export const HEIGHT = 28;
export const WIDTH = 28;
export const CLASS_NAMES = ['a', 'b'];

function records(split: string, count: number, labeled: boolean): ImageRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `${split}-${i}`, image: new Uint8Array(HEIGHT * WIDTH).fill(i * 40), height: HEIGHT, width: WIDTH, channels: 1,
    ...(labeled ? { label: i % CLASS_NAMES.length } : {}),
  }));
}

/** One shard of `count` records, as the object's bytes and the manifest entry that lists them truly. */
export async function putShard(store: ObjectStore, key: string, split: string, count: number, labeled: boolean): Promise<Shard> {
  const art = await store.put(key, writeShard(records(split, count, labeled)));
  return { key: art.key, records: count, sha256: art.sha256, sizeBytes: art.sizeBytes };
}

/** A manifest of 28x28 grey classification records over the given splits. */
export async function putManifest(store: ObjectStore, prefix: string, splits: { name: string; labeled: boolean; shards: Shard[] }[]): Promise<void> {
  await store.putJson(manifestKey(prefix), DatasetManifest.toJSON(DatasetManifest.fromPartial({
    name: prefix, source: 'robustness fixtures', classNames: CLASS_NAMES, height: HEIGHT, width: WIDTH, channels: 1, recordFormat: RECORD_FORMAT,
    splits: splits.map((s) => {
      const n = s.shards.reduce((sum, x) => sum + x.records, 0);
      return { ...s, records: n, ...(s.labeled ? { classCounts: [Math.ceil(n / 2), Math.floor(n / 2)] } : {}) };
    }),
  })));
}

/**
 * A dataset a whole run can use (`labeled` records, val, test, and `unlabeledShards` unlabeled shards of
 * `perShard` records, each shard's records named after it so no two shards have the same bytes).
 */
export async function putRunnableDataset(store: ObjectStore, prefix: string, unlabeledShards: number, perShard: number, labeled = 8): Promise<{ unlabeled: Shard[] }> {
  const one = (split: string, count: number, labeled: boolean) => putShard(store, `${prefix}/${split}-00000-of-00001.tfrecord`, split, count, labeled);
  const unlabeled: Shard[] = [];
  for (let i = 0; i < unlabeledShards; i++) {
    unlabeled.push(await putShard(store, `${prefix}/unlabeled-${String(i).padStart(5, '0')}-of-${String(unlabeledShards).padStart(5, '0')}.tfrecord`, `unlabeled${i}`, perShard, false));
  }
  await putManifest(store, prefix, [
    { name: 'labeled', labeled: true, shards: [await one('labeled', labeled, true)] },
    { name: 'val', labeled: true, shards: [await one('val', 4, true)] },
    { name: 'unlabeled', labeled: false, shards: unlabeled },
    { name: 'test', labeled: true, shards: [await one('test', 4, true)] },
  ]);
  return { unlabeled };
}

/** A classification dataset of 28x28 grey images: `test` (labeled) and `unlabeled`, one shard each. */
export async function putTinyDataset(store: ObjectStore, prefix: string): Promise<{ unlabeledShard: string }> {
  const shard = async (split: string, labeled: boolean): Promise<Shard> => {
    const recs = records(split, 4, labeled);
    const art = await store.put(`${prefix}/${split}-00000-of-00001.tfrecord`, writeShard(recs));
    return { key: art.key, records: recs.length, sha256: art.sha256, sizeBytes: art.sizeBytes };
  };
  const test = await shard('test', true);
  const unlabeled = await shard('unlabeled', false);
  await store.putJson(manifestKey(prefix), DatasetManifest.toJSON(DatasetManifest.fromPartial({
    name: 'tiny', source: 'robustness fixtures', classNames: CLASS_NAMES, height: HEIGHT, width: WIDTH, channels: 1, recordFormat: RECORD_FORMAT,
    splits: [
      { name: 'test', records: 4, labeled: true, classCounts: [2, 2], shards: [test] },
      { name: 'unlabeled', records: 4, labeled: false, shards: [unlabeled] },
    ],
  })));
  return { unlabeledShard: unlabeled.key };
}

/** model.json of a TF.js LayersModel: flatten 28x28x1, then a dense layer of one logit per class. */
export function tinyModelJson(overrides: { layerClass?: string; kernelDtype?: string } = {}): object {
  return {
    format: 'layers-model',
    generatedBy: 'robustness fixtures',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'tiny',
        layers: [
          { class_name: 'Flatten', config: { name: 'flatten', batch_input_shape: [null, HEIGHT, WIDTH, 1], dtype: 'float32' } },
          { class_name: overrides.layerClass ?? 'Dense', config: { name: 'logits', units: CLASS_NAMES.length, activation: 'linear', use_bias: true } },
        ],
      },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{
      paths: ['weights.bin'],
      weights: [
        { name: 'logits/kernel', shape: [HEIGHT * WIDTH, CLASS_NAMES.length], dtype: overrides.kernelDtype ?? 'float32' },
        { name: 'logits/bias', shape: [CLASS_NAMES.length], dtype: 'float32' },
      ],
    }],
  };
}

/** The weights tinyModelJson describes, as float32 bytes (small values, so every logit is finite). */
export function tinyWeights(): Buffer {
  const floats = new Float32Array(HEIGHT * WIDTH * CLASS_NAMES.length + CLASS_NAMES.length).map((_, i) => ((i % 7) - 3) / 1000);
  return Buffer.from(floats.buffer);
}

/** A checkpoint under `dir` (model.json + weights.bin); returns model.json's key. */
export async function putCheckpoint(store: ObjectStore, dir: string, modelJson: unknown = tinyModelJson(), weights: Buffer = tinyWeights()): Promise<string> {
  await store.put(`${dir}/weights.bin`, weights);
  await store.put(`${dir}/model.json`, Buffer.from(JSON.stringify(modelJson)), 'application/json');
  return `${dir}/model.json`;
}
