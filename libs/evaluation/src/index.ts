export * from './task-evaluator';
export * from './evaluate-checkpoint';
export * from './evaluate-classification';
export * from './evaluate-detections';
export * from './evaluate-segmentation';
