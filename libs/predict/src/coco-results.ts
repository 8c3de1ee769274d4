// Detection results as COCO results JSON (what pycocotools' loadRes and COCO tools read): one array of
// {image_id, category_id, bbox [x, y, w, h] in original image pixels, score}, and beside it the images
// (id, file_name, width, height) and categories that give the ids their meaning.
import type { DetectedBox } from './predictor';
import { AtomicFile } from './atomic-output';
import { boxesToOriginal } from './original-frame';
import type { PredictionSink } from './prediction-sink';

export interface CocoResult {
  image_id: number;
  category_id: number;
  /** [x, y, width, height], original pixels. */
  bbox: [number, number, number, number];
  score: number;
}

/** `results.json` -> `results.images.json`: the file list and categories of a results file. */
export function cocoImagesPath(out: string): string {
  return out.endsWith('.json') ? `${out.slice(0, -'.json'.length)}.images.json` : `${out}.images.json`;
}

/**
 * A sink writing `out` (the results array) and cocoImagesPath(out) ({images, categories}); category ids
 * are class indices (class_names[0], the background, is left out of categories).
 */
export async function cocoResults(out: string, classNames: readonly string[]): Promise<PredictionSink<DetectedBox[]>> {
  const results = await AtomicFile.open(out);
  const images = await AtomicFile.open(cocoImagesPath(out));
  let firstResult = true;
  let firstImage = true;
  await results.write('[');
  await images.write('{"images": [');
  return {
    async add(image, boxes) {
      const entry = { id: image.index, file_name: image.file, width: image.originalWidth, height: image.originalHeight };
      await images.write(`${firstImage ? '' : ','}\n  ${JSON.stringify(entry)}`);
      firstImage = false;
      for (const b of boxesToOriginal(boxes, image.geometry)) {
        const r: CocoResult = { image_id: image.index, category_id: b.label, bbox: [px(b.xmin), px(b.ymin), px(b.xmax - b.xmin), px(b.ymax - b.ymin)], score: Number(b.score.toPrecision(6)) };
        await results.write(`${firstResult ? '' : ','}\n  ${JSON.stringify(r)}`);
        firstResult = false;
      }
    },
    async commit() {
      const categories = classNames.map((name, id) => ({ id, name })).slice(1);
      await images.write(`\n], "categories": ${JSON.stringify(categories)}}\n`);
      await results.write('\n]\n');
      await images.commit();
      await results.commit();
      return [results.final, images.final];
    },
    async abort() {
      await results.abort();
      await images.abort();
    },
  };
}

/** Hundredths of a pixel. */
function px(v: number): number {
  return Math.round(v * 100) / 100;
}
