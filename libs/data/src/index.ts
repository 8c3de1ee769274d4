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
export { writeShard, readShard, streamShards, readSplit, verifyShardBytes, verifyShardRecordCount, type StreamShardsOptions } from './shard';
export { inlineShardCodec, WorkerShardCodec, type ShardCodec } from './shard-codec';
export { loadManifest, splitOf, manifestKey, RECORD_FORMAT } from './manifest';
export { readIdxImages, readIdxLabels, type IdxImages } from './idx';
export {
  ingestFashionMnist,
  loadHiddenLabels,
  shardKey,
  hiddenLabelsKey,
  ingestOptionsKey,
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_COARSE_CLASS_NAMES,
  FASHION_MNIST_COARSE_OF_FINE,
  type FashionMnistLabelSpace,
  DEFAULT_FASHION_MNIST_DIR,
  type IngestFashionMnistOptions,
  type IngestResult,
} from './ingest-fashion-mnist';
export { taskOf, TASK_ENUM, type Task } from './manifest';
export { ANNOTATION_FEATURE, type BoxObject, type Annotations } from './annotation-features';
export { encodeMaskPng, decodeMaskPng, encodePaletteMaskPng, vocPalette, MaskPngError } from './mask-png';
// Defined by @selftrain/metrics; passed on for the labeling options modules that import it from here.
export { IGNORE_LABEL } from '@selftrain/metrics';
export { readPngImage, type DecodedImage } from './png-image-file';
export { writeDataset, type DatasetDescription, type SplitRecords, type WriteDatasetResult } from './dataset-writer';
export { assignSplits, type SplitChoice, type LabeledSplit } from './user-splits';
export { ingestCoco, type IngestCocoOptions } from './ingest-coco';
export { ingestVocSegmentation, VOC_CLASS_NAMES, type IngestVocOptions } from './ingest-voc-segmentation';
export { paintScene, drawPlacements, type Scene, type SceneItem, type Placement } from './scene-composer';
export { ingestFashionMnistScenes, generateScenes, SCENE_CLASS_NAMES, type SceneDatasetOptions } from './ingest-scenes';
export {
  decodeImage,
  decodeImageFile,
  sniffImageFormat,
  MIN_IMAGE_SIDE,
  MAX_IMAGE_PIXELS,
  type DecodeOptions,
  type DecodedPhoto,
  type ImageFormat,
} from './image-decode';
export { fitGeometry, fitBoxes, fitMask, isIdentityGeometry, FIT_POLICIES, type FitPolicy, type FitGeometry, type ImageSize } from './image-geometry';
export { DecodePool, type DecodePoolOptions, type DecodeSource } from './decode-pool';
export { decodePngFast } from './png-fast-decode';
export { ChannelStats, type ChannelMoments } from './channel-stats';
