import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Loads model.json + weights.bin from `dir` with stock @tensorflow/tfjs in a fresh Node process (no selftrain
 * package loaded, so no custom layer class is registered; stock wasm backend) and predicts `images`; returns each
 * output's data.
 */
export function predictWithStockTfjs(dir: string, images: { data: Float32Array; shape: readonly number[] }): Float32Array[] {
  fs.writeFileSync(path.join(dir, 'images.bin'), Buffer.from(images.data.buffer, images.data.byteOffset, images.data.byteLength));
  const script = `
    const tf = require('@tensorflow/tfjs');
    const fs = require('fs');
    const path = require('path');
    const [dir, shape] = [process.argv[1], JSON.parse(process.argv[2])];
    (async () => {
      // The stock wasm backend (no selftrain kernels): the cpu backend would take minutes on 10k images.
      const wasm = require('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + path.sep);
      await tf.setBackend('wasm');
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const w = fs.readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
      const model = await tf.loadLayersModel(tf.io.fromMemory({
        modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
        weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength),
      }));
      const x = fs.readFileSync(path.join(dir, 'images.bin'));
      const input = tf.tensor(new Float32Array(x.buffer, x.byteOffset, x.byteLength / 4), shape);
      const out = model.predict(input, { batchSize: 500 });
      (Array.isArray(out) ? out : [out]).forEach((t, i) => fs.writeFileSync(path.join(dir, 'out' + i + '.bin'), Buffer.from(t.dataSync().buffer)));
    })().catch((e) => { console.error(e.stack || e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script, dir, JSON.stringify(images.shape)], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stock tfjs failed (exit ${r.status}): ${r.stderr}`);
  const outs: Float32Array[] = [];
  for (let i = 0; fs.existsSync(path.join(dir, `out${i}.bin`)); i++) {
    const b = fs.readFileSync(path.join(dir, `out${i}.bin`));
    outs.push(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  }
  return outs;
}
