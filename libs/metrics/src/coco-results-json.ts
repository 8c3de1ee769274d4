// Detections as a COCO results file ([{image_id, category_id, bbox: [x, y, w, h], score}]), the
// format pycocotools' loadRes and every COCO leaderboard read. Records keep boxes as fractions
// of the image and labels as contiguous indices; this maps both back to the source's terms.
import type { CornerBox } from './box-iou.js';
import type { CocoDetection } from './coco-box-ap.js';

export interface CocoResultEntry {
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
}

/** A normalized corner box as COCO's pixel [x, y, width, height]. */
export function cornerToXywh(box: CornerBox, width: number, height: number): [number, number, number, number] {
  return [box.xmin * width, box.ymin * height, (box.xmax - box.xmin) * width, (box.ymax - box.ymin) * height];
}

/**
 * One image's boxes as detections. `categoryIds[label]` is the source's category id (the manifest's
 * category_ids); empty means the label is the id.
 */
export function toCocoDetections(
  imageId: number,
  boxes: (CornerBox & { label: number; score: number })[],
  width: number,
  height: number,
  categoryIds: readonly number[] = [],
): CocoDetection[] {
  return boxes.map((b) => {
    if (categoryIds.length > 0 && !(b.label >= 0 && b.label < categoryIds.length)) {
      throw new Error(`label ${b.label} has no category id (${categoryIds.length} categories)`);
    }
    return { imageId, categoryId: categoryIds.length > 0 ? categoryIds[b.label] : b.label, bbox: cornerToXywh(b, width, height), score: b.score };
  });
}

export function cocoResultsJson(detections: CocoDetection[]): CocoResultEntry[] {
  return detections.map((d) => ({ image_id: d.imageId, category_id: d.categoryId, bbox: [...d.bbox] as [number, number, number, number], score: d.score }));
}
