export { exportOnnx, encodeOnnx } from './export-onnx';
export { OnnxGraphBuilder, onnxModel, ONNX_OPSET, ONNX_IR_VERSION } from './onnx-graph-builder';
export type { AttributeValue, Dim } from './onnx-graph-builder';
export { UnsupportedLayerError } from './onnx-layers';
export { modelGraph } from './layer-calls';
export type { LayerCall, ModelGraph } from './layer-calls';
export { exportMetadata } from './export-metadata';
export type { ExportSource, ExportTask } from './export-metadata';
export { openOnnxSession, runOnnx } from './onnx-session';
