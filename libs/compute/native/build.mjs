// Builds the native CPU kernels (cpu-kernels.c, dnnl-kernels.c, batch-norm.c, relu-grad.c, parallel.c, eltwise.c) as a Node addon with the system C compiler.
// Optional by design: without a compiler or Node's headers it says why and exits 0, and training uses
// the wasm kernels. OpenBLAS and oneDNN are opened at run time (dlopen), so neither is needed to build;
// oneDNN's headers (Debian: libdnnl-dev) are: without them the addon is built without its oneDNN kernels
// and says so. SELFTRAIN_DNNL_HEADERS=off builds as if they were absent (how the tests check that path).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sources = ['cpu-kernels.c', 'dnnl-kernels.c', 'batch-norm.c', 'relu-grad.c', 'parallel.c', 'eltwise.c'].map((f) => join(here, f));
const inputs = readdirSync(here).filter((f) => /\.[ch]$/.test(f)).map((f) => join(here, f));
// Under dist/, so nx's build cache stores and restores it with the compiled TypeScript.
// SELFTRAIN_NATIVE_OUT: elsewhere (the test that builds without oneDNN's headers).
const out = process.env.SELFTRAIN_NATIVE_OUT ?? join(here, '..', 'dist', 'native', 'selftrain-cpu-kernels.node');
const stamp = `${out}.flags`;
const headers = [
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
  resolve(dirname(process.execPath), '..', 'include', 'node'),
].filter(Boolean).find((dir) => existsSync(join(dir, 'node_api.h')));
const dnnlHeader = ['/usr/include', '/usr/local/include'].find((dir) => existsSync(join(dir, 'oneapi', 'dnnl', 'dnnl.h')));
const withDnnl = dnnlHeader != null && process.env.SELFTRAIN_DNNL_HEADERS !== 'off';

function skip(why) {
  console.warn(`native CPU kernels not built (${why}); training uses the wasm kernels`);
  process.exit(0);
}

if (process.env.SELFTRAIN_NATIVE_KERNELS === 'off') skip('SELFTRAIN_NATIVE_KERNELS=off');
if (headers == null) skip("Node's headers (node_api.h) not found");
const flags = withDnnl ? ['-DSELFTRAIN_WITH_DNNL', '-I', dnnlHeader] : [];
const cc = process.env.CC ?? 'cc';
const args = ['-O3', '-ffp-contract=off', '-Wall', '-Wextra', '-shared', '-fPIC', '-I', headers, ...flags, ...sources, '-o', out, '-ldl', '-lm', '-lpthread'];
// The stamp is the whole command, so a change of compiler or flags alone rebuilds too.
const command = [cc, ...args].join(' ');
const upToDate = existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === command &&
  inputs.every((f) => statSync(out).mtimeMs >= statSync(f).mtimeMs);
if (upToDate) process.exit(0);
if (!withDnnl) {
  console.warn('native CPU kernels built without oneDNN (its headers: Debian libdnnl-dev); convs run on OpenBLAS');
}
mkdirSync(dirname(out), { recursive: true });
rmSync(out, { force: true }); // never leave a stale addon behind a failed build
const run = spawnSync(cc, args, { stdio: 'inherit' });
if (run.error != null) skip(`${cc}: ${run.error.message}`);
if (run.status !== 0) skip(`${cc} exited with ${run.status}`);
writeFileSync(stamp, command);
