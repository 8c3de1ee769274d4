// 2x3 affine matrices over continuous pixel coordinates: pixel (i, j) covers [j, j+1) x [i, i+1), so its
// centre is (j + 0.5, i + 0.5). A matrix maps input coordinates to output coordinates (forward), which
// is what boxes and keypoints need; warpAffine inverts it once to sample the image.
//   x' = a*x + b*y + c
//   y' = d*x + e*y + f

export type Affine = readonly [a: number, b: number, c: number, d: number, e: number, f: number];

export const IDENTITY_AFFINE: Affine = [1, 0, 0, 0, 1, 0];

/** The transform that applies `first`, then `then`. */
export function composeAffine(first: Affine, then: Affine): Affine {
  const [a1, b1, c1, d1, e1, f1] = first;
  const [a2, b2, c2, d2, e2, f2] = then;
  return [
    a2 * a1 + b2 * d1,
    a2 * b1 + b2 * e1,
    a2 * c1 + b2 * f1 + c2,
    d2 * a1 + e2 * d1,
    d2 * b1 + e2 * e1,
    d2 * c1 + e2 * f1 + f2,
  ];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new Error(`affine matrix is singular: [${m.join(', ')}]`);
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

export function applyAffine(m: Affine, x: number, y: number): [x: number, y: number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}
