// The image files of a folder a user points ingest at: every JPEG, PNG and WebP by extension, sorted,
// so the same folder always gives the same records in the same order.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '@selftrain/errors';

/** Extensions taken as images (any case); other files (READMEs, .DS_Store, labels) are not images. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;

export function isImageFileName(name: string): boolean {
  const lower = name.toLowerCase();
  return !name.startsWith('.') && IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/** The image files directly in `dir` (names, sorted); InputError(field) when it is not a directory. */
export function listImageFiles(dir: string, field: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(field, `directory not found: ${dir}`);
  return readdirSync(dir).filter(isImageFileName).sort().filter((n) => statSync(join(dir, n)).isFile());
}
