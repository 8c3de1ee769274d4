import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTaskModel, detectorAnchors } from '@selftrain/checkpoints';
import { tf, initBackend } from '@selftrain/compute';
import { DecodePool, encodePaletteMaskPng, ingestVocDetection, ingestVocSegmentation, readSplit, writePhoto, type PaintedRect } from '@selftrain/data';
import { createRng } from '@selftrain/random';
import { MemoryObjectStore } from '@selftrain/storage';
import { detectionStep, segmentationStep, SgdMomentum, trainDefaults, type DenseExample, type StepContext } from '@selftrain/train';

before(async () => {
  delete process.env.SELFTRAIN_BACKEND;
  assert.equal((await initBackend({ purpose: 'train' })).name, 'wasm');
});

/**
 * Six JPEG photos of mixed sizes and shapes, each with a red square (class "square") and a blue bar
 * (class "bar") at seeded places: the VOC layout (XML boxes, 1-based) and palette masks beside it.
 */
async function photoTree(dir: string): Promise<void> {
  for (const d of ['Annotations', 'JPEGImages', 'SegmentationClass']) mkdirSync(join(dir, d), { recursive: true });
  const rng = createRng(7);
  const sizes = [[200, 150], [150, 200], [160, 160], [240, 135], [180, 120], [128, 170]];
  for (const [i, [w, h]] of sizes.entries()) {
    const side = Math.round(Math.min(w, h) * (0.3 + 0.2 * rng.next()));
    const sx = Math.floor(rng.next() * (w / 2 - side / 2));
    const sy = Math.floor(rng.next() * (h - side));
    const square: PaintedRect = { x0: sx, y0: sy, x1: sx + side, y1: sy + side, rgb: [220, 30, 30] };
    const bx = Math.floor(w / 2 + rng.next() * (w / 2 - 20));
    const bar: PaintedRect = { x0: bx, y0: Math.floor(h * 0.1), x1: bx + 16, y1: Math.floor(h * 0.9), rgb: [30, 30, 220] };
    const id = `p${i}`;
    await writePhoto(join(dir, 'JPEGImages', `${id}.jpg`), { width: w, height: h, rects: [square, bar], background: 110 });
    const obj = (name: string, r: PaintedRect) => `<object><name>${name}</name><difficult>0</difficult><bndbox><xmin>${r.x0 + 1}</xmin><ymin>${r.y0 + 1}</ymin><xmax>${r.x1}</xmax><ymax>${r.y1}</ymax></bndbox></object>`;
    writeFileSync(join(dir, 'Annotations', `${id}.xml`), `<annotation><filename>${id}.jpg</filename><size><width>${w}</width><height>${h}</height><depth>3</depth></size>${obj('square', square)}${obj('bar', bar)}</annotation>`);
    const mask = new Uint8Array(w * h);
    for (const [label, r] of [[1, square], [2, bar]] as const) for (let y = r.y0; y < r.y1; y++) mask.fill(label, y * w + r.x0, y * w + r.x1);
    writeFileSync(join(dir, 'SegmentationClass', `${id}.png`), encodePaletteMaskPng(mask, h, w));
  }
}

function context(optimizer: SgdMomentum, learningRate: number): StepContext {
  return { optimizer, learningRate, weights: { human: 1, pseudo: 0 }, augment: { level: 'none', randAugmentN: 2, randAugmentM: 9 }, rng: createRng(1) };
}

const toExample = (r: { image: Uint8Array; objects?: DenseExample['objects']; mask?: Uint8Array }): DenseExample => ({ image: r.image, objects: r.objects, mask: r.mask });

test('the detector and the segmenter train on ingested JPEG photos at 3x128x128 (and build and step at 3x256x256) on the wasm kernels', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'photo-train-'));
  const pool = new DecodePool({ threads: 2 });
  try {
    await photoTree(dir);
    const store = new MemoryObjectStore();
    const all = { splits: { labeled: ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'] }, pool };
    for (const size of [128, 256]) {
      const det = await ingestVocDetection(store, { ...all, root: dir, prefix: `det${size}`, imageSize: size, classNames: ['square', 'bar'] });
      const seg = await ingestVocSegmentation(store, { ...all, imageDir: join(dir, 'JPEGImages'), maskDir: join(dir, 'SegmentationClass'), prefix: `seg${size}`, imageSize: size, classNames: ['background', 'square', 'bar'] });
      const shape = { height: size, width: size, channels: 3 };
      assert.deepEqual([det.manifest.height, det.manifest.width, det.manifest.channels, det.manifest.resizePolicy], [size, size, 3, 'letterbox']);
      const detExamples = (await readSplit(store, det.manifest, 'labeled')).map(toExample);
      const segExamples = (await readSplit(store, seg.manifest, 'labeled')).map(toExample);
      const steps = size === 128 ? 12 : 2;

      const detector = buildTaskModel({ ...trainDefaults('detection', 'teacher'), seed: 1 }, shape, 3, 'detection');
      const detOpt = new SgdMomentum(0.9, 0);
      const detStep = detectionStep(detector, shape, detectorAnchors(detector), 2);
      const detLosses: number[] = [];
      for (let i = 0; i < steps; i++) detLosses.push((await detStep(detExamples, [], context(detOpt, 0.01))).loss);

      const segmenter = buildTaskModel({ ...trainDefaults('segmentation', 'teacher'), seed: 1 }, shape, 3, 'segmentation');
      const segOpt = new SgdMomentum(0.9, 0);
      const segStep = segmentationStep(segmenter, shape, 3);
      const segLosses: number[] = [];
      for (let i = 0; i < steps; i++) segLosses.push((await segStep(segExamples, [], context(segOpt, 0.05))).loss);

      t.diagnostic(`${size}px: detector loss ${detLosses[0].toFixed(3)} -> ${detLosses.at(-1)!.toFixed(3)}, segmenter ${segLosses[0].toFixed(3)} -> ${segLosses.at(-1)!.toFixed(3)}`);
      assert.ok([...detLosses, ...segLosses].every(Number.isFinite), `${size}px: finite losses`);
      if (size === 128) {
        assert.ok(detLosses.at(-1)! < detLosses[0] * 0.8, `detector loss ${detLosses[0]} -> ${detLosses.at(-1)}`);
        assert.ok(segLosses.at(-1)! < segLosses[0] * 0.8, `segmenter loss ${segLosses[0]} -> ${segLosses.at(-1)}`);
      }
      for (const o of [detOpt, segOpt]) o.dispose();
      detector.dispose();
      segmenter.dispose();
    }
    assert.ok(tf.memory().numTensors < 50, `${tf.memory().numTensors} tensors left`);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true });
  }
});
