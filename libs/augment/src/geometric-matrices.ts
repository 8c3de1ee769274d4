// Builders for the geometric ops' forward matrices. Rotation and shear act about the image centre
// (as torchvision does) so content stays in frame instead of drifting towards a corner.
import type { Affine } from './affine.js';

/** Counter-clockwise on screen for positive degrees (PIL's convention), about the image centre. */
export function rotateMatrix(degrees: number, height: number, width: number): Affine {
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cx = width / 2;
  const cy = height / 2;
  // y grows downwards, so a visual CCW turn is x' = cos*x + sin*y, y' = -sin*x + cos*y about the centre.
  return [cos, sin, cx - cos * cx - sin * cy, -sin, cos, cy + sin * cx - cos * cy];
}

/** x' = x + shear * (y - cy). */
export function shearXMatrix(shear: number, height: number): Affine {
  return [1, shear, -shear * (height / 2), 0, 1, 0];
}

/** y' = y + shear * (x - cx). */
export function shearYMatrix(shear: number, width: number): Affine {
  return [1, 0, 0, shear, 1, -shear * (width / 2)];
}

export function translateMatrix(dx: number, dy: number): Affine {
  return [1, 0, dx, 0, 1, dy];
}

export function scaleMatrix(sx: number, sy: number): Affine {
  return [sx, 0, 0, 0, sy, 0];
}

export function horizontalFlipMatrix(width: number): Affine {
  return [-1, 0, width, 0, 1, 0];
}
