// Throughput check: `node tools/bench/dist/bench-augment.js [seconds-per-case]`. Not part of the test run.
import { AUGMENT_LEVELS, augmentAnnotated, augmentImage, createImage, type Box } from '@selftrain/augment';
import { createRng, type Rng } from '@selftrain/random';

const seconds = Number(process.argv[2] ?? 1);

function measure(label: string, run: (rng: Rng) => unknown): void {
  const rng = createRng(1);
  for (let i = 0; i < 200; i++) run(rng); // warm up the JIT
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 100; i++) run(rng);
    n += 100;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label} ${Math.round(n / elapsed).toString().padStart(8)} img/s`);
}

for (const [h, w, c] of [[28, 28, 1], [96, 96, 3]] as const) {
  const img = createImage(h, w, c);
  const init = createRng(0);
  for (let i = 0; i < img.data.length; i++) img.data[i] = init.int(256);
  // Detection + segmentation sample: 10 boxes and a mask of the same size.
  const boxes: Box[] = Array.from({ length: 10 }, (_, k) => {
    const o = k / 20;
    return { xmin: o, ymin: o, xmax: 0.5 + o, ymax: 0.4 + o, label: 1 + k };
  });
  const mask = Uint8Array.from({ length: h * w }, (_, i) => i % 7);
  for (const level of AUGMENT_LEVELS) {
    measure(`${h}x${w}x${c} ${level.padEnd(4)}`, (rng) => augmentImage(img, level, rng));
    measure(`${h}x${w}x${c} ${level.padEnd(4)} +boxes+mask`, (rng) => augmentAnnotated({ image: img, boxes, mask }, level, rng));
  }
}
