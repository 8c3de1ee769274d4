export * from './evaluate-checkpoint';
export * from './evaluate-detections';
export * from './evaluate-segmentation';
export * from './evaluate-dense-checkpoint';
