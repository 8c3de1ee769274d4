// Builds the native CPU kernels (cpu-kernels.c) as a Node addon with the system C compiler.
// Optional by design: without a compiler or Node's headers it says why and exits 0, and training uses
// the wasm kernels. OpenBLAS itself is opened at run time (dlopen), so it is not needed to build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'cpu-kernels.c');
// Under dist/, so nx's build cache stores and restores it with the compiled TypeScript.
const out = join(here, '..', 'dist', 'native', 'selftrain-cpu-kernels.node');
const headers = [
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
  resolve(dirname(process.execPath), '..', 'include', 'node'),
].filter(Boolean).find((dir) => existsSync(join(dir, 'node_api.h')));

function skip(why) {
  console.warn(`native CPU kernels not built (${why}); training uses the wasm kernels`);
  process.exit(0);
}

if (process.env.SELFTRAIN_NATIVE_KERNELS === 'off') skip('SELFTRAIN_NATIVE_KERNELS=off');
if (headers == null) skip("Node's headers (node_api.h) not found");
if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) process.exit(0);
mkdirSync(dirname(out), { recursive: true });
rmSync(out, { force: true }); // never leave a stale addon behind a failed build
const cc = process.env.CC ?? 'cc';
const args = ['-O3', '-Wall', '-Wextra', '-shared', '-fPIC', '-I', headers, source, '-o', out, '-ldl'];
const run = spawnSync(cc, args, { stdio: 'inherit' });
if (run.error != null) skip(`${cc}: ${run.error.message}`);
if (run.status !== 0) skip(`${cc} exited with ${run.status}`);
