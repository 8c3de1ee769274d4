// Segmentation results as palette PNGs (VOC's colours; the pixel index is the class id, 255 where the
// model saw nothing), one per image at its original size, named like the input with .png.
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { encodePaletteMaskPng } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import { AtomicDirectory } from './atomic-output';
import { maskToOriginal } from './original-frame';
import type { PredictionSink } from './prediction-sink';

/** `dir/cat.jpg` -> `dir/cat.png`. */
export function maskName(file: string): string {
  return `${file.replace(/\.[^./]+$/, '')}.png`;
}

/** A sink writing one mask per image under the directory `out`. */
export async function maskPngs(out: string): Promise<PredictionSink<Uint8Array>> {
  const dir = await AtomicDirectory.open(out, '--out');
  const written = new Map<string, string>();
  return {
    async add(image, map) {
      const name = maskName(image.file);
      const clash = written.get(name);
      if (clash !== undefined) throw new InputError(image.file, `and ${clash} would both write the mask ${name}; rename one of them`);
      written.set(name, image.file);
      const mask = maskToOriginal(map, image.geometry);
      const file = path.join(dir.temp, ...name.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, encodePaletteMaskPng(mask, image.originalHeight, image.originalWidth));
    },
    async commit() {
      await dir.commit();
      return [dir.final];
    },
    abort: () => dir.abort(),
  };
}
