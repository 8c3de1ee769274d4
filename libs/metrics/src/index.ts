// Classification metrics; detection (COCO AP) and segmentation (mIoU) get their own files alongside.
export { confusionMatrix } from './confusion-matrix.js';
export { top1 } from './top1.js';
export { perClassAccuracy, classSupport } from './per-class-accuracy.js';
export { type ClassificationReport, classificationReport } from './classification-report.js';
export { argmaxRows } from './argmax-rows.js';
export { confidenceHistogram } from './confidence-histogram.js';
export { type FormatConfusionOptions, formatConfusion } from './format-confusion.js';
