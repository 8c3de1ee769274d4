import { InputError } from '@selftrain/errors';

/** `--image-size 32` (square) or `--image-size 48x64` (height x width). */
export function parseImageSize(raw: string | undefined): { height: number; width: number } | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)(?:x(\d+))?$/i.exec(raw.trim());
  const height = m ? Number(m[1]) : NaN;
  const width = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(height >= 1 && height <= 4096 && width >= 1 && width <= 4096)) throw new InputError('--image-size', `must be N or HxW with sides from 1 to 4096, got ${JSON.stringify(raw)}`);
  return { height, width };
}
