export { exportOnnx, encodeOnnx } from './export-onnx';
export { OnnxGraphBuilder, onnxModel, ONNX_OPSET, ONNX_IR_VERSION } from './onnx-graph-builder';
export type { AttributeValue, Dim } from './onnx-graph-builder';
export { UnsupportedLayerError } from './onnx-layers';
export { modelGraph } from './layer-calls';
export type { LayerCall, ModelGraph } from './layer-calls';
export { exportStockTfjs } from './export-tfjs';
export type { StockTfjsArtifacts } from './export-tfjs';
export { exportMetadata } from './export-metadata';
export type { ExportSource, ExportTask } from './export-metadata';
export { openOnnxSession, runOnnx, ONNX_BACKEND, type OnnxSessionOptions } from './onnx-session';
export { exportCheckpoint, checkpointOfRun, checkpointKeyOf, parseExportFormat, EXPORT_FORMATS } from './export-checkpoint';
export type { ExportFormat, ExportedModel } from './export-checkpoint';
export { writeTeacherInput } from './class-teacher';
export type { PixelImage, ClassifyOptions, ClassTeacher } from './class-teacher';
export { OnnxTeacher, openOnnxTeacher } from './onnx-teacher';
export { TfjsTeacher, readTfjsTeacherFiles } from './tfjs-teacher';
export { TeacherModelCache } from './teacher-model-cache';
export { DenseTeacher, type DenseTask, type DenseTeacherGraph } from './dense-teacher';
export { onnxDenseGraph, openOnnxDenseTeacher } from './onnx-dense-teacher';
export {
  checkTeacherModel, checkPreprocess, checkClassNames, mapTeacherClasses, teacherModelDigest, TEACHER_SOURCES, TEACHER_LAYOUTS, TEACHER_CHANNEL_ORDERS,
  TEACHER_OUTPUT_KINDS, TEACHER_MODEL_TASKS, TEACHER_OUTPUT_KINDS_BY_TASK, checkOutputKindForTask,
  mapDenseTeacherClasses,
} from './teacher-contract';
export type { CheckedTeacherModel } from './teacher-contract';
export { OnnxCheckpointCache, OnnxCheckpointClassifier, openOnnxCheckpointClassifier } from './onnx-checkpoint-cache';
export { tfjsDenseGraph } from './tfjs-teacher';
