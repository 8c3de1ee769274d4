import * as fs from 'node:fs';
import * as path from 'node:path';
import { readIdxImages, readIdxLabels } from '@selftrain/data';

/** The Debian package dataset-fashion-mnist (the README's set-up line installs it). */
export const FASHION_MNIST_DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

/** A batch of images on the training scale (pixel / 255), NHWC. */
export interface ImageBatch {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** Fashion-MNIST test images [from, from + n) as [n, 28, 28, 1], with their labels. */
export function fashionMnistTest(n: number, from = 0): ImageBatch & { labels: Uint8Array } {
  const images = readIdxImages(path.join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'));
  const labels = readIdxLabels(path.join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'));
  const size = 28 * 28;
  const data = Float32Array.from(images.data.subarray(from * size, (from + n) * size), (p) => p / 255);
  return { data, shape: [n, 28, 28, 1], labels: labels.slice(from, from + n) };
}

/** The CIFAR-10 images of libs/data's fixtures (32x32 RGB, binary PPM), as [4, 32, 32, 3]. */
export function cifarFixtures(): ImageBatch {
  const dir = path.resolve(__dirname, '../../../data/fixtures/cifar10');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ppm')).sort();
  const data = new Float32Array(files.length * 32 * 32 * 3);
  files.forEach((f, i) => {
    const bytes = fs.readFileSync(path.join(dir, f));
    // "P6\n32 32\n255\n" then the pixels.
    const pixels = bytes.subarray(bytes.length - 32 * 32 * 3);
    for (let p = 0; p < pixels.length; p++) data[i * pixels.length + p] = pixels[p] / 255;
  });
  return { data, shape: [files.length, 32, 32, 3] };
}

/** Fashion-MNIST items tiled on `size` x `size` grey canvases (real pixels for the detector and segmenter). */
export function fashionMnistCanvases(n: number, size: number): ImageBatch {
  const items = fashionMnistTest(n * 9);
  const data = new Float32Array(n * size * size);
  const step = Math.floor(size / 3);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < 9; k++) {
      const ox = (k % 3) * step + ((b + k) % Math.max(1, step - 27));
      const oy = Math.floor(k / 3) * step;
      for (let y = 0; y < 28 && oy + y < size; y++) {
        for (let x = 0; x < 28 && ox + x < size; x++) {
          data[b * size * size + (oy + y) * size + ox + x] = items.data[(b * 9 + k) * 784 + y * 28 + x];
        }
      }
    }
  }
  return { data, shape: [n, size, size, 1] };
}
