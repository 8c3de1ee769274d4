import type { DenseExample } from '../dense-batch';

/**
 * Seeded synthetic scenes for the dense training tests, without any dataset files: on a dark noisy
 * canvas, 1-2 squares per image (or none, with `emptyEvery`), class 1 a bright filled square, class 2 a
 * dimmer one with a bright 2-pixel rim (a later square occludes an earlier one). Boxes are exact
 * (normalized pixel edges, 1-based labels, area = side^2); the mask is 0 = background, 1, 2.
 */
export function denseScenes(n: number, size: number, seed: number, opts: { emptyEvery?: number } = {}): DenseExample[] {
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 16777216; };
  return Array.from({ length: n }, (_, b) => {
    const image = new Uint8Array(size * size);
    for (let i = 0; i < image.length; i++) image[i] = Math.floor(rand() * 30);
    const mask = new Uint8Array(size * size);
    const objects: NonNullable<DenseExample['objects']>[number][] = [];
    const count = opts.emptyEvery && b % opts.emptyEvery === opts.emptyEvery - 1 ? 0 : 1 + Math.floor(rand() * 2);
    for (let k = 0; k < count; k++) {
      const side = Math.floor(size * (0.25 + rand() * 0.25));
      const x0 = Math.floor(rand() * (size - side));
      const y0 = Math.floor(rand() * (size - side));
      const label = 1 + Math.floor(rand() * 2);
      for (let y = y0; y < y0 + side; y++) {
        for (let x = x0; x < x0 + side; x++) {
          const rim = y - y0 < 2 || y0 + side - 1 - y < 2 || x - x0 < 2 || x0 + side - 1 - x < 2;
          image[y * size + x] = label === 1 || rim ? 230 : 110;
          mask[y * size + x] = label;
        }
      }
      objects.push({ xmin: x0 / size, ymin: y0 / size, xmax: (x0 + side) / size, ymax: (y0 + side) / size, label, area: side * side });
    }
    return { image, objects, mask };
  });
}
