import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkDockerfile, checkDockerignore, finalBaseImage, parseDockerfile, resolveBuild, stageEnv } from './dockerfile-rules';
import { formatProblems } from './manifest';
import { DEPLOY_ROOT } from './render-overlay';

const DOCKERFILE = readFileSync(path.join(DEPLOY_ROOT, 'images', 'Dockerfile'), 'utf8');
const VARIANTS = { cpu: { VARIANT: 'cpu' }, 'cpu-tfjs': { VARIANT: 'cpu-tfjs' }, gpu: { VARIANT: 'gpu' } };

for (const [variant, args] of Object.entries(VARIANTS)) {
  test(`the Dockerfile (VARIANT=${variant}) keeps every rule: multi-stage, pinned bases, non-root USER, no devDependencies`, () => {
    assert.equal(formatProblems(checkDockerfile(DOCKERFILE, args)), '');
  });
}

test('cpu ships wasm + the native kernels with OpenBLAS and oneDNN; cpu-tfjs ships tfjs-node; gpu tfjs-node-gpu and onnxruntime\'s CUDA provider', () => {
  const df = parseDockerfile(DOCKERFILE);
  const cpu = resolveBuild(df, VARIANTS.cpu);
  const cpuTfjs = resolveBuild(df, VARIANTS['cpu-tfjs']);
  const gpu = resolveBuild(df, VARIANTS.gpu);
  assert.match(finalBaseImage(cpu)!, /^node:20\.\d+\.\d+-bookworm-slim$/);
  assert.match(finalBaseImage(cpuTfjs)!, /^node:20\.\d+\.\d+-bookworm-slim$/);
  // onnxruntime-node's CUDA provider needs CUDA 12 + cuDNN 9: the base.
  assert.match(finalBaseImage(gpu)!, /^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu\d+\.\d+$/);
  assert.equal(stageEnv(cpu, cpu.final).SELFTRAIN_TFJS_PACKAGE, '');
  assert.equal(stageEnv(cpuTfjs, cpuTfjs.final).SELFTRAIN_TFJS_PACKAGE, '@tensorflow/tfjs-node@4.22.0');
  assert.equal(stageEnv(gpu, gpu.final).SELFTRAIN_TFJS_PACKAGE, '@tensorflow/tfjs-node-gpu@4.22.0');
  // the libraries the addon opens at load, in the cpu image's runtime; the addon itself from the build
  const cpuRuntime = cpu.chain(cpu.final).find((s) => s.name === 'runtime-cpu')!;
  assert.match(cpuRuntime.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n'), /apt-get install -y --no-install-recommends libopenblas0 libdnnl2/);
  const buildRuns = df.stages.find((s) => s.name === 'build')!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(buildRuns.some((r) => /apt-get install [^&]*\bgcc\b[^&]*\blibdnnl-dev\b/.test(r)), 'the build stage can compile the addon with oneDNN');
  assert.ok(buildRuns.includes('test -f libs/compute/dist/native/selftrain-cpu-kernels.node'), 'a build that lost the addon fails');
  // onnxruntime-node: only the gpu variant fetches the CUDA provider, and its build fails without it.
  assert.equal(stageEnv(cpu, cpu.final).ONNXRUNTIME_NODE_INSTALL, 'skip');
  assert.equal(stageEnv(cpuTfjs, cpuTfjs.final).ONNXRUNTIME_NODE_INSTALL, 'skip');
  assert.equal(stageEnv(gpu, gpu.final).ONNXRUNTIME_NODE_INSTALL, 'cuda12');
  // tfjs-node-gpu's libtensorflow (CUDA 11.2, cuDNN 8.1) gets CUDA 11 runtime libraries and cuDNN 8 beside CUDA 12's.
  const gpuRuntime = gpu.chain(gpu.final).find((s) => s.name === 'runtime-gpu')!;
  const gpuApt = gpuRuntime.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
  for (const pkg of ['cuda-cudart-11-8', 'libcublas-11-8', 'libcufft-11-8', 'libcusparse-11-8', 'libcusolver-11-8', 'libcudnn8=8.9.7.29-1+cuda11.8']) {
    assert.ok(gpuApt.split(/\s+/).includes(pkg), `runtime-gpu installs ${pkg}`);
  }
  assert.match(gpuApt, /cuda-11\.8\/targets\/x86_64-linux\/lib > \/etc\/ld\.so\.conf\.d\/\S+\s+&& ldconfig/);
  const prodDeps = df.stages.find((s) => s.name === 'prod-deps')!;
  const install = prodDeps.instructions.find((i) => i.op === 'RUN')!.args;
  assert.match(install, /npm ci --omit=dev/);
  assert.match(install, /if \[ -n "\$SELFTRAIN_TFJS_PACKAGE" \]; then npm install --omit=dev [^&]*"\$SELFTRAIN_TFJS_PACKAGE"; fi/);
  const providerCheck = prodDeps.instructions.filter((i) => i.op === 'RUN')[1]?.args ?? '';
  assert.match(providerCheck, /if \[ "\$ONNXRUNTIME_NODE_INSTALL" = cuda12 \]; then test -f node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime_providers_cuda\.so; fi/);
});

test('the build stage installs with the lockfile and runs the workspace build script', () => {
  const build = parseDockerfile(DOCKERFILE).stages.find((s) => s.name === 'build')!;
  const runs = build.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(runs.includes('npm ci --no-audit --no-fund'));
  assert.ok(runs.includes('npm run build'));
  const root = JSON.parse(readFileSync(path.join(DEPLOY_ROOT, '..', 'package.json'), 'utf8'));
  assert.equal(root.scripts.build, 'nx run-many -t build');
});

test('the .dockerignore next to the Dockerfile keeps local installs and outputs out of the context', () => {
  assert.deepEqual(checkDockerignore(readFileSync(path.join(DEPLOY_ROOT, 'images', 'Dockerfile.dockerignore'), 'utf8')), []);
  assert.match(formatProblems(checkDockerignore('.git\n**/dist\n')), /Dockerfile\.dockerignore \*\*\/node_modules: must exclude/);
});

const GOOD = `ARG BASE=node:20.20.2-bookworm-slim
FROM \${BASE} AS build
WORKDIR /src
RUN npm ci && npm run build
FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
COPY --from=build /src/dist ./dist
RUN npm ci --omit=dev
FROM node:20.20.2-bookworm-slim
WORKDIR /app
COPY --from=deps /app ./
USER 10001:10001
`;

function problemsOf(text: string): string {
  return formatProblems(checkDockerfile(text));
}

test('the rules catch each way an image goes wrong', () => {
  assert.equal(problemsOf(GOOD), '', 'the baseline passes');
  assert.match(problemsOf('FROM node:20.20.2-bookworm-slim\nRUN npm ci --omit=dev\nUSER 10001\n'), /Dockerfile FROM: has 1 stage\(s\)/);
  assert.match(problemsOf(GOOD.replace('FROM node:20.20.2-bookworm-slim AS deps', 'FROM node:latest AS deps')), /Dockerfile line 5: FROM node:latest uses latest/);
  assert.match(problemsOf(GOOD.replace('FROM node:20.20.2-bookworm-slim\n', 'FROM node\n')), /Dockerfile line 9: FROM node is not pinned/);
  assert.match(problemsOf(GOOD.replace('ARG BASE=node:20.20.2-bookworm-slim', 'ARG BASE')), /Dockerfile line 2: FROM \$\{BASE\}: \$\{BASE\} has an unresolved build argument/);
  assert.match(problemsOf(GOOD.replace('USER 10001:10001\n', '')), /Dockerfile line 9: the final stage 2 has no USER: the image would run as root/);
  assert.match(problemsOf(GOOD.replace('USER 10001:10001', 'USER root')), /Dockerfile line 12: USER root is root/);
  assert.match(problemsOf(GOOD.replace('USER 10001:10001', 'USER node')), /USER node: use the numeric user 10001/);
  assert.match(problemsOf(GOOD.replace('RUN npm ci --omit=dev', 'RUN npm ci')), /Dockerfile final stage: ships devDependencies: line 11 \(stage 2\) copies \/app from stage deps, whose line 8 \(stage deps\) installs packages without --omit=dev/);
  assert.match(problemsOf(GOOD.replace('COPY --from=deps /app ./', 'COPY --from=build /src/node_modules ./node_modules')), /ships devDependencies: line 11 \(stage 2\) copies \/src\/node_modules from stage build, whose line 4 \(stage build\) installs packages without --omit=dev/);
  assert.match(problemsOf(GOOD.replace('COPY --from=deps /app ./', 'COPY --from=build /src ./')), /copies \/src from stage build/);
  assert.match(problemsOf(`${GOOD}RUN npm install left-pad\n`), /line 13 \(stage 2\) installs packages without --omit=dev/);
  assert.match(problemsOf(GOOD.replace('FROM node:20.20.2-bookworm-slim\n', 'FROM deps\n').replace('COPY --from=deps /app ./\n', '')), /^$/, 'FROM an earlier production stage is fine');
  assert.match(problemsOf(GOOD.replace('FROM node:20.20.2-bookworm-slim\n', 'FROM build\n')), /ships devDependencies: line 4 \(stage build\)/);
});
