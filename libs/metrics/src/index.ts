// Classification metrics, COCO box AP, segmentation IoU, and the NMS that turns boxes into pseudo-labels.
export { confusionMatrix } from './confusion-matrix.js';
export { top1 } from './top1.js';
export { perClassAccuracy, classSupport } from './per-class-accuracy.js';
export { type ClassificationReport, classificationReport } from './classification-report.js';
export { argmaxRows } from './argmax-rows.js';
export { confidenceHistogram } from './confidence-histogram.js';
export { type FormatConfusionOptions, formatConfusion } from './format-confusion.js';
export { type XywhBox, type CornerBox, xywhIou, cornerIou } from './box-iou.js';
export {
  cocoBoxEval,
  IOU_THRESHOLDS,
  RECALL_THRESHOLDS,
  AREA_RANGES,
  MAX_DETS,
  type CocoGroundTruth,
  type CocoDetection,
  type CocoEvalInput,
  type CocoBoxMetrics,
} from './coco-box-ap.js';
export { type CocoResultEntry, cocoResultsJson, cornerToXywh, toCocoDetections } from './coco-results-json.js';
export { type ScoredBox, type NmsOptions, type SoftNmsOptions, nms, softNms, pseudoLabelBoxes } from './nms.js';
export { IGNORE_LABEL } from './ignore-label.js';
export { SegmentationConfusion, meanIou, type SegmentationReport } from './segmentation-iou.js';
