// Real image files for predict's tests: Fashion-MNIST test items written with sharp as the PNGs and
// JPEGs a user would point predict at, and the items themselves (the records the evaluator reads).
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { readIdxImages, readIdxLabels } from '@selftrain/data';
import sharp from 'sharp';

/** The Debian package dataset-fashion-mnist (the README's set-up line installs it). */
export const FASHION_MNIST_DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

export interface FashionMnistItems {
  /** 28x28 grey pixels per item. */
  images: Uint8Array[];
  labels: Uint8Array;
}

/** Items [from, from + n) of the train or test set. */
export function fashionMnistItems(set: 'train' | 't10k', n: number, from = 0): FashionMnistItems {
  const all = readIdxImages(path.join(FASHION_MNIST_DIR, `${set}-images-idx3-ubyte.gz`));
  const labels = readIdxLabels(path.join(FASHION_MNIST_DIR, `${set}-labels-idx1-ubyte.gz`));
  const images = Array.from({ length: n }, (_, i) => all.data.slice((from + i) * 784, (from + i + 1) * 784));
  return { images, labels: labels.slice(from, from + n) };
}

/**
 * Writes items as `dir/png/item-NNN.png` (28x28 grey, lossless: the decoded pixels are the record's) and,
 * for the last `jpegs` of them, `dir/jpeg/item-NNN.jpg` upscaled to 56x56 RGB (resized back on decode).
 * Returns the files relative to `dir`, sorted as predict lists them.
 */
export async function writeFashionMnistFiles(dir: string, images: readonly Uint8Array[], jpegs: number): Promise<string[]> {
  mkdirSync(path.join(dir, 'png'), { recursive: true });
  mkdirSync(path.join(dir, 'jpeg'), { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < images.length; i++) {
    const name = `item-${String(i).padStart(3, '0')}`;
    const raw = sharp(Buffer.from(images[i]), { raw: { width: 28, height: 28, channels: 1 } });
    if (i >= images.length - jpegs) {
      const jpeg = await raw.resize(56, 56).toColourspace('srgb').jpeg({ quality: 95 }).toBuffer();
      writeFileSync(path.join(dir, 'jpeg', `${name}.jpg`), jpeg);
      files.push(`jpeg/${name}.jpg`);
    } else {
      writeFileSync(path.join(dir, 'png', `${name}.png`), await raw.png().toBuffer());
      files.push(`png/${name}.png`);
    }
  }
  return files.sort();
}
