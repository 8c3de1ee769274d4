// Throughput check: `node dist/bench.js [seconds-per-case]`. Not part of the test run.
import { AUGMENT_LEVELS } from './augment-level.js';
import { augmentImage } from './augment-image.js';
import { createImage } from './image.js';
import { createRng } from './rng.js';

const seconds = Number(process.argv[2] ?? 1);
for (const [h, w, c] of [[28, 28, 1], [96, 96, 3]] as const) {
  const img = createImage(h, w, c);
  const init = createRng(0);
  for (let i = 0; i < img.data.length; i++) img.data[i] = init.int(256);
  for (const level of AUGMENT_LEVELS) {
    const rng = createRng(1);
    for (let i = 0; i < 200; i++) augmentImage(img, level, rng); // warm up the JIT
    let n = 0;
    const start = process.hrtime.bigint();
    const budget = BigInt(Math.round(seconds * 1e9));
    while (process.hrtime.bigint() - start < budget) {
      for (let i = 0; i < 100; i++) augmentImage(img, level, rng);
      n += 100;
    }
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(`${h}x${w}x${c} ${level.padEnd(4)} ${Math.round(n / elapsed).toString().padStart(8)} img/s`);
  }
}
