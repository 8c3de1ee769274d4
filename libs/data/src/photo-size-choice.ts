// The one size a detection or segmentation dataset of users' photos is brought to at ingest, when the
// user names none: the photos' own size when they share one, else a square the detector can take.
import { InputError } from '@selftrain/errors';
import { MIN_IMAGE_SIDE } from './image-decode';
import type { ImageSize } from './image-geometry';

/** The sides a default size is kept within: the detector and segmenter are built and tested at 128-512 px. */
export const DEFAULT_SIZE_RANGE = { min: 128, max: 512 } as const;

/** Default sides are multiples of this: the detector's coarsest level (P5) has stride 32. */
export const SIZE_MULTIPLE = 32;

/** The largest side a user may ask for: beyond it one record no longer fits a shard of sensible size. */
const MAX_SIDE = 4096;

/** `N` (square) or a size; validated as the dataset's size. */
export type ImageSizeOption = number | ImageSize;

/**
 * The dataset's size. A user's `option` wins. Otherwise, from the sizes the annotations declare for the
 * labeled images: their common size when they all share one (nothing resized); when they differ, a square
 * whose side is the most common longest side, rounded up to a multiple of 32 and kept within 128..512
 * (VOC's 500x375 photos -> 512, COCO's 640x480 -> 512). InputError('imageSize') when there is nothing to
 * decide from.
 */
export function chooseImageSize(option: ImageSizeOption | undefined, declared: readonly ImageSize[]): ImageSize {
  if (option !== undefined) return checkedSize(option);
  if (declared.length === 0) throw new InputError('imageSize', 'no labeled image declares a size; give the dataset size (--image-size N or HxW)');
  const first = declared[0];
  if (declared.every((s) => s.height === first.height && s.width === first.width)) return { height: first.height, width: first.width };
  const counts = new Map<number, number>();
  for (const s of declared) {
    const side = Math.max(s.height, s.width);
    counts.set(side, (counts.get(side) ?? 0) + 1);
  }
  // The most common longest side; ties go to the larger side (less detail lost).
  const [side] = [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0];
  const rounded = Math.ceil(side / SIZE_MULTIPLE) * SIZE_MULTIPLE;
  const s = Math.min(DEFAULT_SIZE_RANGE.max, Math.max(DEFAULT_SIZE_RANGE.min, rounded));
  return { height: s, width: s };
}

function checkedSize(option: ImageSizeOption): ImageSize {
  const size = typeof option === 'number' ? { height: option, width: option } : option;
  for (const k of ['height', 'width'] as const) {
    const v = size[k];
    if (!Number.isInteger(v) || v < MIN_IMAGE_SIDE || v > MAX_SIDE) throw new InputError('imageSize', `${k} must be an integer in ${MIN_IMAGE_SIDE}..${MAX_SIDE}, got ${v}`);
  }
  return { height: size.height, width: size.width };
}
