/**
 * The [inSize, outSize] matrix M with out[o] = sum_i in[i] * M[i][o] for a 1-D resize, as TF.js's kernels
 * compute it: 'nearest' without align-corners or half-pixel centres (source floor(o * in / out)),
 * 'bilinear' with align-corners (source o * (in - 1) / (out - 1), its two neighbours weighted linearly).
 * A 2-D resize is this along the width, then along the height.
 */
export function interpolationMatrix(inSize: number, outSize: number, method: 'nearest' | 'bilinear'): Float32Array {
  const m = new Float32Array(inSize * outSize);
  if (method === 'nearest') {
    const ratio = inSize / outSize;
    for (let o = 0; o < outSize; o++) m[Math.min(inSize - 1, Math.floor(o * ratio)) * outSize + o] = 1;
    return m;
  }
  const ratio = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  for (let o = 0; o < outSize; o++) {
    const src = o * ratio;
    const top = Math.floor(src);
    const bottom = Math.min(inSize - 1, Math.ceil(src));
    const frac = src - top;
    m[top * outSize + o] += 1 - frac;
    m[bottom * outSize + o] += frac;
  }
  return m;
}
