// Replays a sampled plan on a segmentation mask (HxW class ids) with nearest-neighbour sampling, so
// labels stay labels (never a blend of two class ids); what comes from outside the source becomes the
// ignore label.
import { IGNORE_LABEL } from '@selftrain/metrics';
import { type Affine, composeAffine, invertAffine } from './affine.js';
import type { AugmentStep } from './augment-step.js';
import { EDGE_EPS } from './warp-affine.js';

/**
 * One lookup per output pixel: its centre is mapped back through the inverse of every affine step,
 * and is padding (ignoreLabel) as soon as it leaves the frame at any stage, which is exactly where the
 * image got `fill` at that step. Chaining nearest-neighbour warps instead would round once per step,
 * so label edges would drift and thin objects break up under rotate + shear + upscale.
 * 'pixel' steps leave the mask alone; so does 'cutout': the occluded pixels still belong to their
 * object, as the boxes do (the student learns to label what is hidden rather than losing those pixels).
 * Returns a new array.
 */
export function transformMask(
  mask: Uint8Array,
  plan: readonly AugmentStep[],
  height: number,
  width: number,
  ignoreLabel = IGNORE_LABEL,
): Uint8Array {
  if (mask.length !== height * width) throw new Error(`mask has ${mask.length} values, expected ${height * width} for ${height}x${width}`);
  if (!Number.isInteger(ignoreLabel) || ignoreLabel < 0 || ignoreLabel > 255) {
    throw new Error(`ignoreLabel must be an integer 0..255, got ${ignoreLabel}`);
  }
  // toStage[k] maps output coordinates to the coordinates before affine step k, i.e. the inverses
  // composed back to front; toStage[0] lands in the source mask.
  const toStage: Affine[] = [];
  let acc: Affine | undefined;
  for (let i = plan.length - 1; i >= 0; i--) {
    const step = plan[i];
    if (step.kind !== 'affine') continue;
    const inv = invertAffine(step.matrix);
    acc = acc ? composeAffine(acc, inv) : inv;
    toStage.unshift(acc);
  }
  if (toStage.length === 0) return mask.slice();
  const n = toStage.length;
  // Per stage: the point of the current pixel centre, stepped by (a, d) per column as warpAffine does.
  const u = new Float64Array(n);
  const v = new Float64Array(n);
  const out = new Uint8Array(height * width);
  let o = 0;
  for (let y = 0; y < height; y++) {
    const py = y + 0.5;
    for (let k = 0; k < n; k++) {
      const m = toStage[k];
      u[k] = m[0] * 0.5 + m[1] * py + m[2];
      v[k] = m[3] * 0.5 + m[4] * py + m[5];
    }
    for (let x = 0; x < width; x++, o++) {
      const su = u[0];
      const sv = v[0];
      let inside = true;
      for (let k = 0; k < n; k++) {
        const uk = u[k];
        const vk = v[k];
        if (uk < -EDGE_EPS || vk < -EDGE_EPS || uk > width + EDGE_EPS || vk > height + EDGE_EPS) inside = false;
        u[k] = uk + toStage[k][0];
        v[k] = vk + toStage[k][3];
      }
      if (!inside) {
        out[o] = ignoreLabel;
        continue;
      }
      const xi = Math.min(width - 1, Math.max(0, Math.floor(su)));
      const yi = Math.min(height - 1, Math.max(0, Math.floor(sv)));
      out[o] = mask[yi * width + xi];
    }
  }
  return out;
}
