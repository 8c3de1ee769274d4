// A selftrain-exported ONNX file on onnxruntime-node: the preprocessing and classes from its
// metadata_props (exported-model-spec.ts), the same packing as training (writeModelInput), and the
// detector's documented post-process (decodeDetections, as ADR 0006 prescribes).
import { InputError } from '@selftrain/errors';
import { openOnnxSession, runOnnx, type OnnxSessionOptions } from '@selftrain/export';
import { BOX_VARIANCES } from '@selftrain/models';
import { onnx } from '@selftrain/proto';
import { decodeDetections, writeModelInput } from '@selftrain/train';
import { anchorSetFromBoxes } from './detector-anchor-set';
import { exportedModelSpec, type ExportedModelSpec } from './exported-model-spec';
import type { DetectedBox, Predictor } from './predictor';
import { argmaxMaps, softmaxRows, toPixelBoxes } from './task-outputs';

/** What each task's graph must output (libs/export's names). */
const OUTPUTS = { classification: ['logits'], detection: ['class_logits', 'box_deltas'], segmentation: ['logits'] } as const;

/** A Predictor over an ONNX file's bytes; `source` (its path) names it in errors; `options` sets its threads. */
export async function openOnnxPredictor(bytes: Uint8Array, source: string, options: OnnxSessionOptions = {}): Promise<Predictor> {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InputError(source, `is not an ONNX model: ${(err as Error).message}`, { cause: err });
  }
  const spec = exportedModelSpec(Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value])), source);
  if (spec.detection && spec.detection.variances.some((v, i) => Math.abs(v - BOX_VARIANCES[i]) > 1e-9)) {
    throw new InputError(source, `metadata_props key "box_variances" is ${JSON.stringify(spec.detection.variances)}; the box coder uses ${JSON.stringify(BOX_VARIANCES)}`);
  }
  const session = await openOnnxSession(bytes, options).catch((err: unknown) => {
    throw new InputError(source, `onnxruntime cannot load it: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  });
  const missing = OUTPUTS[spec.task].filter((o) => !session.outputNames.includes(o));
  if (!session.inputNames.includes(spec.inputName) || missing.length > 0) {
    await session.release();
    throw new InputError(source, `metadata_props say task ${spec.task} with input ${spec.inputName}, but the graph has input(s) ${session.inputNames.join(', ')} and output(s) ${session.outputNames.join(', ')} (a ${spec.task} model outputs ${OUTPUTS[spec.task].join(', ')})`);
  }
  const base = { classNames: spec.classNames, input: spec.input, source, close: () => session.release() };
  const run = async (images: readonly Uint8Array[]) => runOnnx(session, { name: spec.inputName, ...pack(images, spec) });
  const outputsOf = (what: string, dims: number[], want: string) => new InputError(source, `${what} has shape [${dims.join(', ')}]; a ${spec.task} model with ${spec.classNames.length} classes gives ${want}`);
  switch (spec.task) {
    case 'classification':
      return {
        ...base, task: 'classification',
        async predict(images) {
          if (images.length === 0) return [];
          const { logits } = await run(images);
          const k = spec.classNames.length;
          if (logits.dims.length !== 2 || logits.dims[1] !== k) throw outputsOf('output logits', logits.dims, `[batch, ${k}]`);
          return softmaxRows(logits.data, k);
        },
      };
    case 'detection': {
      const anchors = anchorSetFromBoxes(spec.detection!.anchors, [spec.input.height, spec.input.width]);
      return {
        ...base, task: 'detection',
        async predict(images): Promise<DetectedBox[][]> {
          if (images.length === 0) return [];
          const out = await run(images);
          const k = spec.classNames.length - 1;
          const dims = out.class_logits.dims;
          if (dims.length !== 3 || dims[1] !== anchors.count || dims[2] !== k) throw outputsOf('output class_logits', dims, `[batch, ${anchors.count} anchors, ${k}] (class 0 is the background)`);
          const found = decodeDetections(out.class_logits.data, out.box_deltas.data, anchors, k);
          return found.map((boxes) => toPixelBoxes(boxes, spec.input));
        },
      };
    }
    case 'segmentation':
      return {
        ...base, task: 'segmentation',
        async predict(images) {
          if (images.length === 0) return [];
          const { logits } = await run(images);
          const { height, width } = spec.input;
          const k = spec.classNames.length;
          if (logits.dims.length !== 4 || logits.dims[1] !== height || logits.dims[2] !== width || logits.dims[3] !== k) throw outputsOf('output logits', logits.dims, `[batch, ${height}, ${width}, ${k}]`);
          return argmaxMaps(logits.data, images.length, height * width, k);
        },
      };
  }
}

/** The batch as the graph's float NHWC input, through the training's own packing. */
function pack(images: readonly Uint8Array[], spec: ExportedModelSpec): { data: Float32Array; shape: number[] } {
  const { height, width, channels } = spec.shape;
  const size = height * width * channels;
  const data = new Float32Array(images.length * size);
  images.forEach((img, i) => {
    if (img.length !== size) throw new Error(`image ${i} has ${img.length} values, the model takes ${height}x${width}x${channels}`);
    writeModelInput(data, i * size, img, spec.shape);
  });
  return { data, shape: [images.length, height, width, channels] };
}
