import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyAffine } from './affine.js';
import { applyAnnotatedPlan, augmentAnnotated } from './augment-annotated.js';
import { augmentImage } from './augment-image.js';
import { sampleAugmentPlan } from './augment-plan.js';
import type { AugmentStep } from './augment-step.js';
import { createImage, type Image } from './image.js';
import { createRng } from '@selftrain/random';
import type { Box } from './transform-boxes.js';

const LEVELS = ['s1', 's2', 's3', 's4'] as const;
const H = 48;
const W = 60;

function noisy(h: number, w: number, c: number, seed: number): Image {
  const img = createImage(h, w, c);
  const rng = createRng(seed);
  for (let i = 0; i < img.data.length; i++) img.data[i] = rng.int(256);
  return img;
}

// One box per cell of a 3x3 grid (so painted regions never overlap), sides 3 px up to the cell,
// at integer pixel positions; the mask paints box k's pixels with k + 1 on a background of 0.
function scene(seed: number): { image: Image; boxes: Box[]; mask: Uint8Array } {
  const rng = createRng(seed);
  const mask = new Uint8Array(H * W);
  const boxes: Box[] = [];
  const cw = W / 3;
  const ch = H / 3;
  for (let k = 0; k < 9; k++) {
    const w = 3 + rng.int(cw - 2);
    const h = 3 + rng.int(ch - 2);
    const x0 = (k % 3) * cw + rng.int(cw - w + 1);
    const y0 = Math.floor(k / 3) * ch + rng.int(ch - h + 1);
    for (let y = y0; y < y0 + h; y++) mask.fill(k + 1, y * W + x0, y * W + x0 + w);
    boxes.push({ xmin: x0 / W, ymin: y0 / H, xmax: (x0 + w) / W, ymax: (y0 + h) / H, label: k + 1 });
  }
  return { image: noisy(H, W, 3, seed), boxes, mask };
}

/** Pixel extent [x0, y0, x1, y1] of each painted value (pixel (i, j) covers [j, j+1) x [i, i+1)). */
function paintedExtents(mask: Uint8Array): Map<number, number[]> {
  const ext = new Map<number, number[]>();
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = mask[y * W + x];
      if (v === 0 || v === 255) continue;
      const e = ext.get(v) ?? [Infinity, Infinity, -Infinity, -Infinity];
      ext.set(v, [Math.min(e[0], x), Math.min(e[1], y), Math.max(e[2], x + 1), Math.max(e[3], y + 1)]);
    }
  }
  return ext;
}

// Whether any affine step pushes part of the box's rectangle out of the frame.
function everClipped(b: Box, plan: readonly AugmentStep[]): boolean {
  let pts = [[b.xmin, b.ymin], [b.xmax, b.ymin], [b.xmax, b.ymax], [b.xmin, b.ymax]].map(([x, y]) => [x * W, y * H]);
  for (const s of plan) {
    if (s.kind !== 'affine') continue;
    pts = pts.map(([x, y]) => applyAffine(s.matrix, x, y));
    if (pts.some(([x, y]) => x < -1e-9 || y < -1e-9 || x > W + 1e-9 || y > H + 1e-9)) return true;
  }
  return false;
}

test('painted boxes: every surviving box frames the pixels painted for it, at every level, over many seeds', () => {
  for (const level of LEVELS) {
    let survived = 0;
    let dropped = 0;
    for (let seed = 0; seed < 250; seed++) {
      const s = scene(seed);
      const trace: AugmentStep[] = [];
      const out = augmentAnnotated(s, level, createRng(1000 + seed), { trace });
      const painted = paintedExtents(out.mask!);
      const where = `${level} seed ${seed}`;
      assert.deepEqual(out.boxes!.map((b) => b.label), out.keptBoxes!.map((i) => s.boxes[i].label), where);
      for (const b of out.boxes!) {
        survived++;
        const box = [b.xmin * W, b.ymin * H, b.xmax * W, b.ymax * H];
        assert.ok(b.xmin >= 0 && b.ymin >= 0 && b.xmax <= 1 && b.ymax <= 1, `${where}: box outside the image`);
        assert.ok(box[2] - box[0] >= 1 - 1e-9 && box[3] - box[1] >= 1 - 1e-9, `${where}: degenerate box kept`);
        const p = painted.get(b.label);
        assert.ok(p, `${where}: box ${b.label} survived but none of its pixels did`);
        // Containment: a painted pixel's centre lies inside the box, so its square sticks out by <= 0.5 px.
        const outside = Math.max(box[0] - p[0], box[1] - p[1], p[2] - box[2], p[3] - box[3]);
        assert.ok(outside <= 0.5 + 1e-6, `${where}: label ${b.label} painted ${outside.toFixed(2)} px outside its box`);
        // Tightness: the box is no bigger than its pixels, up to sampling. Where a clip cut the box, the
        // corner it leaves can be an acute wedge (frame edge against a sheared or rotated side) whose tip
        // holds no pixel centre, hence the wider tolerance there.
        const slack = Math.max(p[0] - box[0], p[1] - box[1], box[2] - p[2], box[3] - p[3]);
        const tol = everClipped(s.boxes[b.label - 1], trace) ? 3.5 : 1.5;
        assert.ok(slack <= tol, `${where}: box ${b.label} is ${slack.toFixed(2)} px bigger than its pixels`);
      }
      for (let k = 1; k <= 9; k++) {
        if (out.boxes!.some((b) => b.label === k)) continue;
        dropped++;
        // A dropped box leaves at most a sliver one pixel thick.
        const p = painted.get(k);
        assert.ok(!p || Math.min(p[2] - p[0], p[3] - p[1]) <= 1, `${where}: dropped box ${k} still has ${p} painted`);
      }
    }
    // The test must exercise both outcomes at every level.
    assert.ok(survived > 1000 && dropped > 10, `${level}: ${survived} survived, ${dropped} dropped`);
  }
});

test('the image is exactly augmentImage(image, level, rng), with the same draws and trace', () => {
  for (const level of ['none', ...LEVELS] as const) {
    for (let seed = 0; seed < 20; seed++) {
      const s = scene(seed);
      const [r1, r2] = [createRng(seed), createRng(seed)];
      const [t1, t2]: AugmentStep[][] = [[], []];
      const plain = augmentImage(s.image, level, r1, { trace: t1, fill: 3 });
      const annotated = augmentAnnotated(s, level, r2, { trace: t2, fill: 3 });
      assert.deepEqual(annotated.image, plain, `${level} seed ${seed}`);
      assert.deepEqual(t2, t1);
      assert.equal(r2.uint32(), r1.uint32(), 'rng left in the same state');
    }
  }
});

test('deterministic given the seed; different seeds differ', () => {
  const s = scene(5);
  for (const level of LEVELS) {
    const a = augmentAnnotated(s, level, createRng(42));
    assert.deepEqual(augmentAnnotated(s, level, createRng(42)), a, level);
    const distinct = new Set<string>();
    for (let seed = 0; seed < 8; seed++) {
      const o = augmentAnnotated(s, level, createRng(seed));
      distinct.add(JSON.stringify(o.boxes) + Buffer.from(o.mask!).toString('hex'));
    }
    assert.ok(distinct.size >= 6, `${level}: only ${distinct.size} distinct outputs of 8`);
  }
});

test('masks: nearest-neighbour keeps only input values plus ignore; padding shows up as ignore', () => {
  const values = [0, 3, 7, 12];
  const rng = createRng(8);
  const mask = Uint8Array.from({ length: H * W }, () => values[rng.int(values.length)]);
  const image = noisy(H, W, 1, 2);
  for (const level of LEVELS) {
    let padded = 0;
    for (let seed = 0; seed < 40; seed++) {
      const out = augmentAnnotated({ image, mask }, level, createRng(seed), { ignoreLabel: 99 });
      const seen = new Set(out.mask);
      for (const v of seen) assert.ok(values.includes(v) || v === 99, `${level} seed ${seed}: value ${v} was not in the input`);
      if (seen.has(99)) padded++;
      assert.equal(out.boxes, undefined);
    }
    assert.ok(padded > 0, `${level}: no seed padded`);
  }
});

test('image and mask move together: each label region lands where the image moved it', () => {
  // Each 3x3 grid cell is one label; the image paints one label at a time (200 on 0), so after the
  // bilinear warp "image >= 100" is that label's region as the image sees it.
  const mask = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) mask[y * W + x] = 1 + Math.floor(y / 16) * 3 + Math.floor(x / 20);
  for (const level of LEVELS) {
    for (let seed = 0; seed < 30; seed++) {
      // Only the geometric steps, so pixel values keep meaning "inside the label".
      const plan = sampleAugmentPlan(level, H, W, createRng(seed)).filter((s) => s.kind === 'affine');
      for (let k = 1; k <= 9; k++) {
        const image: Image = { data: mask.map((v) => (v === k ? 200 : 0)), height: H, width: W, channels: 1 };
        const out = applyAnnotatedPlan({ image, mask }, plan, { fill: 0 });
        let inter = 0;
        let union = 0;
        let n = 0;
        for (let i = 0; i < H * W; i++) {
          const inImage = out.image.data[i] >= 100;
          const inMask = out.mask![i] === k;
          if (inImage && inMask) inter++;
          if (inImage || inMask) union++;
          if (inMask) n++;
        }
        // The image rounds padding edges to its grid at each step, the mask doesn't: a pixel row may differ.
        if (n >= 30) assert.ok(inter >= 0.85 * union, `${level} seed ${seed} label ${k}: IoU ${(inter / union).toFixed(2)}`);
      }
      if (plan.length === 1) {
        // A single warp decides padding with the mask's own test: ignore exactly where the image got fill.
        const flat: Image = { data: new Uint8Array(H * W).fill(200), height: H, width: W, channels: 1 };
        const out = applyAnnotatedPlan({ image: flat, mask }, plan, { fill: 0 });
        for (let i = 0; i < H * W; i++) assert.equal(out.mask![i] === 255, out.image.data[i] === 0, `${level} seed ${seed} pixel ${i}`);
      }
    }
  }
});

test('inputs are not mutated; absent annotations stay absent; bad masks are rejected', () => {
  const s = scene(3);
  const before = structuredClone(s);
  const out = augmentAnnotated(s, 's4', createRng(1));
  assert.deepEqual(s, before);
  assert.notEqual(out.mask, s.mask);
  assert.deepEqual(Object.keys(augmentAnnotated({ image: s.image }, 's2', createRng(1))), ['image']);
  assert.throws(() => augmentAnnotated({ image: s.image, mask: new Uint8Array(5) }, 's1', createRng(1)), /mask has 5 values/);
});
