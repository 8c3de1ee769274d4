export { crc32c, maskCrc, maskedCrc32c } from './crc32c';
export { encodeTFRecords, decodeTFRecords, iterateTFRecords, type TFRecordEntry } from './tfrecord';
export {
  encodeImageExample,
  decodeImageExample,
  decodeImageExampleLabels,
  FEATURE,
  type ImageRecord,
  type ImageLabels,
} from './image-example';
export { writeShard, readShard, streamShards, readSplit, type StreamShardsOptions } from './shard';
export { loadManifest, splitOf, manifestKey, RECORD_FORMAT } from './manifest';
export { readIdxImages, readIdxLabels, type IdxImages } from './idx';
export {
  ingestFashionMnist,
  loadHiddenLabels,
  shardKey,
  hiddenLabelsKey,
  ingestOptionsKey,
  FASHION_MNIST_CLASS_NAMES,
  DEFAULT_FASHION_MNIST_DIR,
  type IngestFashionMnistOptions,
  type IngestResult,
} from './ingest-fashion-mnist';
