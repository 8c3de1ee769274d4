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
export { writeDataset, publishManifest, type DatasetDescription, type SplitRecords, type WriteDatasetResult } from './dataset-writer';
export {
  writePhotoDataset,
  writePhotoShards,
  photoShardKey,
  photoWriteOptions,
  defaultPhotoShardSize,
  SHARD_TARGET_BYTES,
  type PhotoItem,
  type PhotoItems,
  type PhotoShardsResult,
  type PhotoSplit,
  type PhotoSplitName,
  type PhotoWriteOptions,
  type PhotoWriteResult,
  type PhotoIngestOptions,
} from './photo-dataset-writer';
export { chooseImageSize, DEFAULT_SIZE_RANGE, SIZE_MULTIPLE, type ImageSizeOption } from './photo-size-choice';
export { listImageFiles, isImageFileName, IMAGE_EXTENSIONS } from './photo-files';
export { assignSplits, type SplitChoice, type LabeledSplit } from './user-splits';
export { ingestCoco, type IngestCocoOptions } from './ingest-coco';
export { ingestVocSegmentation, VOC_CLASS_NAMES, type IngestVocOptions } from './ingest-voc-segmentation';
export { ingestVocDetection, readVocAnnotation, vocBoxToFractions, type IngestVocDetectionOptions, type VocAnnotation } from './ingest-voc-detection';
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
export { ingestImages, DEFAULT_CLASSIFICATION_FIT, imagesIngestKey, type IngestImagesOptions, type IngestImagesResult } from './ingest-images';
export { readImageHeader, type ImageHeader } from './image-header';
export { parseS3Url, directoryRoot, bucketRoot, listTree, listBucket, type S3Location, type ImageRoot } from './image-sources';
export { FileTable } from './file-table';
export { DEFAULT_VAL_PER_CLASS } from './image-split-plan';
// Test fixtures: real photo files made with sharp at test time, for tests of the libs that train on them.
export { photoBytes, writePhoto, paint, type PhotoSpec, type PaintedRect } from './testing/photo-fixtures';
export { bucketSnapshot, snapshotChanges, failedRunTrespasses } from './testing/bucket-snapshot';
