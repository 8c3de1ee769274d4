// Convex polygons as flat [x0, y0, x1, y1, ...] arrays: a box followed through a chain of affine steps.
// An affine map keeps a convex polygon convex, and clipping it to the frame after every step drops the
// part whose pixels that step pushed out of the image (later steps cannot bring them back), so the hull
// at the end frames exactly what is left of the object, not the hull of a hull.
import { type Affine } from './affine.js';

export type Polygon = number[];

export function rectPolygon(x0: number, y0: number, x1: number, y1: number): Polygon {
  return [x0, y0, x1, y0, x1, y1, x0, y1];
}

export function transformPolygon(p: Polygon, m: Affine): Polygon {
  const out = new Array<number>(p.length);
  for (let i = 0; i < p.length; i += 2) {
    out[i] = m[0] * p[i] + m[1] * p[i + 1] + m[2];
    out[i + 1] = m[3] * p[i] + m[4] * p[i + 1] + m[5];
  }
  return out;
}

/** Sutherland-Hodgman against the rectangle [0, width] x [0, height]; empty when nothing is inside. */
export function clipPolygon(p: Polygon, width: number, height: number): Polygon {
  let out = clipHalfPlane(p, 0, 0, 1);
  out = clipHalfPlane(out, 0, width, -1);
  out = clipHalfPlane(out, 1, 0, 1);
  return clipHalfPlane(out, 1, height, -1);
}

// Keeps the side of the line coord[axis] = edge where sign * (coord - edge) >= 0. Intersections are
// snapped onto the edge so clipped boxes end exactly at 0 or width/height, not a rounding error past it.
function clipHalfPlane(p: Polygon, axis: 0 | 1, edge: number, sign: 1 | -1): Polygon {
  const out: Polygon = [];
  const n = p.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    const a = sign * (p[2 * i + axis] - edge);
    const b = sign * (p[2 * j + axis] - edge);
    if (a >= 0) out.push(p[2 * i], p[2 * i + 1]);
    if ((a >= 0) !== (b >= 0)) {
      const t = a / (a - b);
      const x = p[2 * i] + t * (p[2 * j] - p[2 * i]);
      const y = p[2 * i + 1] + t * (p[2 * j + 1] - p[2 * i + 1]);
      out.push(axis === 0 ? edge : x, axis === 1 ? edge : y);
    }
  }
  return out;
}

/** Unsigned area (shoelace); flips reverse the winding, so the sign carries no meaning here. */
export function polygonArea(p: Polygon): number {
  let s = 0;
  const n = p.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    s += p[2 * i] * p[2 * j + 1] - p[2 * j] * p[2 * i + 1];
  }
  return Math.abs(s) / 2;
}

/** Axis-aligned hull [xmin, ymin, xmax, ymax]; the polygon must not be empty. */
export function polygonHull(p: Polygon): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < p.length; i += 2) {
    x0 = Math.min(x0, p[i]);
    x1 = Math.max(x1, p[i]);
    y0 = Math.min(y0, p[i + 1]);
    y1 = Math.max(y1, p[i + 1]);
  }
  return [x0, y0, x1, y1];
}
