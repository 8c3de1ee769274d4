import * as tf from '@tensorflow/tfjs';
import { withRunner } from './wasm-kernel-runner';

type Shape4 = [number, number, number, number];
type ConvInfo = tf.backend_util.Conv2DInfo;

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs: tf.NamedAttrMap;
}

/** The forward conv's geometry, checked against what these kernels support. */
function convInfoFor(kernel: string, xShape: Shape4, filterShape: Shape4, attrs: ConvGradAttrs): ConvInfo {
  const dataFormat = attrs.dataFormat ?? 'NHWC';
  if (dataFormat !== 'NHWC') {
    throw new Error(`${kernel} (selftrain wasm): only dataFormat NHWC is supported, got ${dataFormat}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error(`${kernel} (selftrain wasm): only dilation 1 is supported`);
  }
  if (info.padInfo.top >= info.filterHeight || info.padInfo.left >= info.filterWidth) {
    throw new Error(`${kernel} (selftrain wasm): padding ${JSON.stringify(info.padInfo)} not smaller than the filter`);
  }
  return info;
}

/**
 * Filter gradient as one matrix product (im2col):
 *   dW[(i,j,ci), co] = sum_n cols[(i,j,ci), n] * dy[n, co],  n = (b, y, x),
 *   cols[(i,j,ci), n] = x[b, y*s + i - padTop, x*s + j - padLeft, ci]  (0 outside).
 * cols is written by a plain JS loop straight into the wasm heap (wasm's StridedSlice, Concat and
 * DepthToSpace are slow element-wise loops, 5-40x slower than this), then one plain XNNPACK BatchMatMul
 * cols [K,N] x dy [N,Co] gives dW in its own layout. The operand order matters: XNNPACK re-packs the
 * right-hand operand on every call, so it must be the smaller one (dy, not cols); the transpose flags of
 * wasm's BatchMatMul are ~10x slower than plain.
 */
export function conv2DBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGradAttrs & { filterShape: Shape4 };
  const info = convInfoFor('Conv2DBackpropFilter', x.shape as Shape4, attrs.filterShape, attrs);
  return withRunner(args.backend, (r) => {
    const [fh, fw, ci, co] = attrs.filterShape;
    const [b, h, w] = x.shape;
    const [, ho, wo] = dy.shape;
    const { strideHeight: sh, strideWidth: sw, padInfo } = info;
    const n = b * ho * wo;
    const k = fh * fw * ci;
    const cols = r.alloc([k, n]);
    im2colT(r.view(x), r.view(cols), b, h, w, ci, ho, wo, fh, fw, sh, sw, padInfo.top, padInfo.left);
    const dy2 = r.run('Reshape', { x: dy }, { shape: [n, co] });
    const prod = r.run('BatchMatMul', { a: cols, b: dy2 }, { transposeA: false, transposeB: false });
    return r.run('Reshape', { x: prod }, { shape: [fh, fw, ci, co] });
  });
}

/** cols[(i*fw + j)*ci + c, n] for n = (b, y, x); rows are written as ci streams, reads are contiguous. */
function im2colT(
  xv: Float32Array, out: Float32Array, b: number, h: number, w: number, ci: number, ho: number, wo: number,
  fh: number, fw: number, sh: number, sw: number, top: number, left: number,
): void {
  const n = b * ho * wo;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const row0 = (i * fw + j) * ci * n;
      let col = 0;
      for (let bi = 0; bi < b; bi++) {
        const xb = bi * h * w * ci;
        for (let y = 0; y < ho; y++) {
          const yy = y * sh + i - top;
          if (yy < 0 || yy >= h) {
            for (let c = 0; c < ci; c++) out.fill(0, row0 + c * n + col, row0 + c * n + col + wo);
            col += wo;
            continue;
          }
          const xr = xb + yy * w * ci;
          for (let xo = 0; xo < wo; xo++, col++) {
            const xx = xo * sw + j - left;
            const o = row0 + col;
            if (xx < 0 || xx >= w) {
              for (let c = 0; c < ci; c++) out[o + c * n] = 0;
            } else {
              const s = xr + xx * ci;
              for (let c = 0; c < ci; c++) out[o + c * n] = xv[s + c];
            }
          }
        }
      }
    }
  }
}

/** Along one axis, which filter taps feed output phase p (dx[m*s + p]) and where they sit. */
interface Phase {
  first: number; // first tap i0 = (p + padBefore) mod s
  taps: number; // taps i0, i0+s, ... below the filter size (0: the phase gets no gradient)
  offset: number; // where the phase's flipped sub-filter starts inside the combined kernel
}

/**
 * dx[m*s+p] = sum_k dy[m + c - k] * W[i0 + s*k] with q = p + padBefore, i0 = q mod s, c = floor(q/s).
 * With the sub-filter flipped this is a stride-1 correlation of dy whose first tap reads dy row
 * m + start, start = c - (taps-1). All phases share one conv: pad dy by P = max(-start) and put each
 * phase's taps at offset start + P of a combined kernel of size K.
 */
function phaseLayout(s: number, f: number, padBefore: number): { phases: Phase[]; pad: number; size: number } {
  const raw = [] as { first: number; taps: number; start: number }[];
  for (let p = 0; p < s; p++) {
    const q = p + padBefore;
    const first = q % s;
    const taps = first < f ? Math.ceil((f - first) / s) : 0;
    raw.push({ first, taps, start: Math.floor(q / s) - (taps - 1) });
  }
  const used = raw.filter((p) => p.taps > 0);
  const pad = Math.max(0, ...used.map((p) => -p.start));
  const size = Math.max(1, ...used.map((p) => p.start + pad + p.taps));
  return { phases: raw.map((p) => ({ first: p.first, taps: p.taps, offset: p.start + pad })), pad, size };
}

/**
 * Input gradient as ONE stride-1 XNNPACK conv of dy for every stride: the s*s output phases of dx
 * (sub-pixel decomposition) each see only the filter taps congruent to them modulo s, so their flipped,
 * in/out-swapped sub-filters are packed side by side into one kernel [K, K, Co, s*s*Ci]; a JS loop then
 * interleaves the phases into dx. This does ~ideal FLOPs, where zero-inserting dy (the textbook transposed
 * conv) wastes (s*s-1)/(s*s) of them on zeros. For stride 1 it is the usual full correlation.
 */
export function conv2DBackpropInputWasm(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
  const info = convInfoFor('Conv2DBackpropInput', attrs.inputShape, filter.shape as Shape4, attrs);
  return withRunner(args.backend, (r) => {
    const [fh, fw, ci, co] = filter.shape;
    const [b, h, w] = attrs.inputShape;
    const [, ho, wo] = dy.shape;
    const { strideHeight: sh, strideWidth: sw, padInfo } = info;
    const rows = phaseLayout(sh, fh, padInfo.top);
    const cols = phaseLayout(sw, fw, padInfo.left);
    const nph = sh * sw;
    const kernel = r.alloc([rows.size, cols.size, co, nph * ci]);
    packPhaseKernel(r.view(filter), r.view(kernel), fh, fw, ci, co, sh, sw, rows, cols);
    const mh = Math.ceil(h / sh);
    const mw = Math.ceil(w / sw);
    const padBottom = Math.max(0, mh - 1 + rows.size - rows.pad - ho);
    const padRight = Math.max(0, mw - 1 + cols.size - cols.pad - wo);
    const conv = r.run('Conv2D', { x: dy, filter: kernel }, {
      strides: [1, 1],
      dilations: [1, 1],
      pad: [[0, 0], [rows.pad, padBottom], [cols.pad, padRight], [0, 0]],
      dataFormat: 'NHWC',
    } as unknown as tf.NamedAttrMap);
    const [, ch, cw] = conv.shape;
    if (nph === 1 && ch === h && cw === w) return conv;
    const out = r.alloc([b, h, w, ci]);
    interleavePhases(r.view(conv), r.view(out), b, h, w, ci, ch, cw, sh, sw);
    return out;
  });
}

function packPhaseKernel(
  wv: Float32Array, kv: Float32Array, fh: number, fw: number, ci: number, co: number, sh: number, sw: number,
  rows: { phases: Phase[]; size: number }, cols: { phases: Phase[]; size: number },
): void {
  kv.fill(0);
  const oc = sh * sw * ci; // output channels of the combined kernel
  for (let py = 0; py < sh; py++) {
    const pr = rows.phases[py];
    for (let px = 0; px < sw; px++) {
      const pc = cols.phases[px];
      const chan0 = (py * sw + px) * ci;
      for (let kh = 0; kh < pr.taps; kh++) {
        const i = pr.first + sh * (pr.taps - 1 - kh); // flipped
        for (let kw = 0; kw < pc.taps; kw++) {
          const j = pc.first + sw * (pc.taps - 1 - kw);
          const dst0 = ((pr.offset + kh) * cols.size + (pc.offset + kw)) * co * oc;
          const src0 = (i * fw + j) * ci * co;
          for (let c = 0; c < ci; c++) {
            for (let o = 0; o < co; o++) kv[dst0 + o * oc + chan0 + c] = wv[src0 + c * co + o];
          }
        }
      }
    }
  }
}

function interleavePhases(
  cv: Float32Array, out: Float32Array, b: number, h: number, w: number, ci: number,
  ch: number, cw: number, sh: number, sw: number,
): void {
  const cc = sh * sw * ci;
  let d = 0;
  for (let bi = 0; bi < b; bi++) {
    for (let y = 0; y < h; y++) {
      const m = Math.floor(y / sh);
      const py = y - m * sh;
      const rowBase = ((bi * ch + m) * cw) * cc + py * sw * ci;
      for (let x = 0; x < w; x++) {
        const n = Math.floor(x / sw);
        const s = rowBase + n * cc + (x - n * sw) * ci;
        for (let c = 0; c < ci; c++) out[d + c] = cv[s + c];
        d += ci;
      }
    }
  }
}
