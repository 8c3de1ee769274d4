// A seeded, messy COCO fixture (crowds, all three size ranges, wrong-class and duplicate detections,
// scores on a 0.05 grid so ties are common, one image over the 100-detection cap) for checking
// cocoBoxEval against numbers produced by pycocotools itself. Test-only; not exported.
import { mulberry32 } from '@selftrain/random';
import type { CocoDetection, CocoGroundTruth } from '../coco-box-ap.js';

export interface RandomCocoFixture {
  imageIds: number[];
  categoryIds: number[];
  groundTruth: (CocoGroundTruth & { id: number; area: number })[];
  detections: CocoDetection[];
}

export function randomCocoFixture(seed: number, images = 40): RandomCocoFixture {
  const rand = mulberry32(seed);
  const round2 = (v: number) => Math.round(v * 100) / 100;
  const categoryIds = [1, 2, 5];
  const imageIds = Array.from({ length: images }, (_, i) => 3 * i + 1);
  const groundTruth: RandomCocoFixture['groundTruth'] = [];
  const detections: CocoDetection[] = [];
  const cat = () => categoryIds[Math.floor(rand() * categoryIds.length)];
  const score = () => Math.round(rand() * 20) / 20;
  for (const imageId of imageIds) {
    const n = Math.floor(rand() * 7);
    for (let k = 0; k < n; k++) {
      // Side lengths 3..150 px: areas from small (< 32^2) to large (> 96^2).
      const w = round2(3 + rand() ** 2 * 147);
      const h = round2(3 + rand() ** 2 * 147);
      const bbox: [number, number, number, number] = [round2(rand() * (300 - w)), round2(rand() * (300 - h)), w, h];
      const g = { id: groundTruth.length + 1, imageId, categoryId: cat(), bbox, area: round2(w * h * (0.5 + 0.5 * rand())), isCrowd: rand() < 0.1 };
      groundTruth.push(g);
      const copies = rand() < 0.8 ? 1 + Math.floor(rand() * 2) : 0;
      for (let c = 0; c < copies; c++) {
        const j = () => (rand() - 0.5) * 0.4;
        detections.push({
          imageId,
          categoryId: rand() < 0.85 ? g.categoryId : cat(),
          bbox: [round2(bbox[0] + j() * w), round2(bbox[1] + j() * h), round2(w * (1 + j())), round2(h * (1 + j()))],
          score: score(),
        });
      }
    }
    const fps = imageId === imageIds[3] ? 120 : Math.floor(rand() * 4);
    for (let k = 0; k < fps; k++) {
      const w = round2(3 + rand() * 100);
      const h = round2(3 + rand() * 100);
      detections.push({ imageId, categoryId: imageId === imageIds[3] ? 1 : cat(), bbox: [round2(rand() * 200), round2(rand() * 200), w, h], score: score() });
    }
  }
  return { imageIds, categoryIds, groundTruth, detections };
}
