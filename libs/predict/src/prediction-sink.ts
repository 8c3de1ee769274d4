import type { FitGeometry } from '@selftrain/data';

/** One predicted image as a sink sees it: its path relative to INPUT and where its pixels went. */
export interface PredictedImage {
  file: string;
  /** 1-based position in the sorted input (COCO's image_id). */
  index: number;
  originalHeight: number;
  originalWidth: number;
  geometry: FitGeometry;
}

/** Where a task's results go, image by image; nothing is final before commit (see atomic-output.ts). */
export interface PredictionSink<R> {
  add(image: PredictedImage, result: R): Promise<void>;
  /** Makes the output final; returns the paths written. */
  commit(): Promise<string[]>;
  /** Removes what was written. */
  abort(): Promise<void>;
}
