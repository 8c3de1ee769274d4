/**
 * The real-image classifiers' speed (issue 17), part of `npm run bench`: ResNet-10 w32 (the standard small
 * CIFAR ResNet: 3x3 stem conv of 32 + BN + ReLU, four basic blocks of 32, 64, 128, 256 filters, stride 2 in
 * the last three, 1x1 projection shortcuts with BN, global average pooling, dense 10; built from stock
 * tf.layers as libs/models builds its zoo) and resnet18 as libs/models ships it (CIFAR stem up to 64 px,
 * ImageNet's above), trained with SGD + momentum on random data.
 * For each net, at 32 and 96 px, batch 128 and 32: train and inference img/s (inference also on
 * onnxruntime-node, the labeler's and evaluator's engine for classification) on 1 native thread, on 2
 * (oneDNN's team and the batch norm passes inside one step), with BENCH_RESNET_REPLICAS=1 also on 2
 * replicas of 1 thread (half the batch each on a worker thread, gradients summed: how the trainer
 * splits a batch; opt-in, docs/adr/0012), and a per-kernel profile of one training step. Where /usr/bin/python3 has torch (Debian's python3-torch), the
 * same nets run in PyTorch in the same run, the engines taking turns, and the ratios are printed; without
 * torch that part is skipped with a note.
 * Standalone: `node tools/bench/dist/bench-resnet.js` (BENCH_RESNET_QUICK=1: 32 px, batch 128 only, shorter
 * timing loops; BENCH_RESNET_ROUNDS, default 3: each figure the best of that many rounds, the engines taking
 * turns; BENCH_RESNET_NETS: a comma-separated subset of the nets). Each figure also goes to stderr as it is
 * measured, with the load average.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { foldBatchNorm, initBackend, registerWasmTrainingKernels, tf, withNativeThreads } from '@selftrain/compute';
import { encodeOnnx, exportOnnx, openOnnxSession, runOnnx } from '@selftrain/export';
import { buildModel } from '@selftrain/models';

const STAGES: [number, number][] = [[32, 1], [64, 2], [128, 2], [256, 2]];

/** ResNet-10 w32 at `size` x `size` x 3 (63.8 M multiply-adds per 32x32 image forward). */
export function buildResnet10(size: number, seed = 1): tf.LayersModel {
  let s = seed;
  const init = () => tf.initializers.heNormal({ seed: s++ });
  const conv = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number) =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor) =>
    tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor) => tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [size, size, 3] });
  let x = relu(bn(conv(input, 32, 3, 1)));
  let channels = 32;
  for (const [filters, stride] of STAGES) {
    const r = bn(conv(relu(bn(conv(x, filters, 3, stride))), filters, 3, 1));
    const shortcut = stride !== 1 || filters !== channels ? bn(conv(x, filters, 1, stride)) : x;
    x = relu(tf.layers.add().apply([shortcut, r]) as tf.SymbolicTensor);
    channels = filters;
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: s }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

/** The nets the bench runs, by name; `torch` names the same net in TORCH_SCRIPT. */
export const NETS: Record<string, { build(size: number): tf.LayersModel; torch: string }> = {
  'ResNet-10 w32': { build: (size) => buildResnet10(size), torch: 'resnet10w32' },
  resnet18: { build: (size) => buildModel({ name: 'resnet18', inputShape: [size, size, 3], numClasses: 10, seed: 1 }), torch: 'resnet18' },
};

export interface Case { net: string; size: number; batch: number }
/** How a step uses the 2 cores: native threads inside it, or the batch split over replicas of 1 thread. */
export type Mode = '1 thread' | '2 threads' | '2 replicas';
const MODES: Mode[] = process.env.BENCH_RESNET_REPLICAS === '1' ? ['1 thread', '2 threads', '2 replicas'] : ['1 thread', '2 threads'];

/** The profile's groups: kernel name -> what it is part of in a training step of this net. */
const KERNEL_GROUPS: Record<string, string> = {
  Conv2D: 'conv forward', FusedConv2D: 'conv forward', Conv2DBackpropInput: 'conv backprop-input',
  Conv2DBackpropFilter: 'conv backprop-filter', FusedBatchNorm: 'batch norm forward',
  SelftrainBatchNormTrain: 'batch norm forward', SelftrainBatchNormGrad: 'batch norm backward',
  Mean: 'reductions (pooling, loss)', Sum: 'reductions (pooling, loss)',
  BatchMatMul: 'dense', _FusedMatMul: 'dense',
};

const trainable = (model: tf.LayersModel) => model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
const lossOf = (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) => () =>
  tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar;

/** Random inputs and one-hot labels for `batch` images (seeded: every engine sees the same kind of data). */
function randomBatch(size: number, batch: number): [tf.Tensor, tf.Tensor] {
  return [
    tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 1),
    tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2) as tf.Tensor1D, 10),
  ];
}

export interface ResnetRun {
  trainImgPerS: number;
  inferImgPerS: number;
  /**
   * selftrain only: inference of the same net exported to ONNX (libs/export) on onnxruntime-node at the
   * same thread count, the engine the labeler and the evaluator run classification checkpoints on.
   */
  onnxInferImgPerS?: number;
}
/** PyTorch's figures, and the memory format each came from (the faster of NCHW and channels_last). */
export interface TorchRun extends ResnetRun { format: string }

/** The better of two runs of the same case, figure by figure (each figure is the best of the rounds). */
function best<T extends ResnetRun>(a: T | undefined, b: T): T {
  if (!a) return b;
  const fmt = (r: T, part: 'train' | 'infer') => ('format' in r ? String(r.format).split(', ').find((f) => f.startsWith(part)) : undefined);
  const train = b.trainImgPerS > a.trainImgPerS ? b : a;
  const infer = b.inferImgPerS > a.inferImgPerS ? b : a;
  const merged = { ...b, trainImgPerS: train.trainImgPerS, inferImgPerS: infer.inferImgPerS };
  if (b.onnxInferImgPerS !== undefined) merged.onnxInferImgPerS = Math.max(a.onnxInferImgPerS ?? 0, b.onnxInferImgPerS);
  if ('format' in b) (merged as unknown as TorchRun).format = `${fmt(train, 'train')}, ${fmt(infer, 'infer')}`;
  return merged;
}

/**
 * Untimed steps before each timing loop, the same for both engines: kernel setup, primitive creation,
 * momentum slots, and the allocator's first rounds (PyTorch's glibc heap, the wasm heap) are not timed.
 */
const WARM_UP_STEPS = 3;

/** Runs `step` (after WARM_UP_STEPS untimed calls) until `seconds` have passed and at least twice; steps per second. */
async function rate(step: () => Promise<unknown> | unknown, seconds: number): Promise<number> {
  for (let i = 0; i < WARM_UP_STEPS; i++) await step();
  let n = 0;
  const t0 = performance.now();
  while (n < 2 || performance.now() - t0 < seconds * 1000) {
    await step();
    n += 1;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** One process, one step at a time: `threads` native threads inside each kernel. */
async function measureThreads(c: Case, threads: number, seconds: number): Promise<ResnetRun> {
  return withNativeThreads(threads, () => measureStep(c, threads, seconds));
}

async function measureStep(c: Case, threads: number, seconds: number): Promise<ResnetRun> {
  const model = NETS[c.net].build(c.size);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const [x, y] = randomBatch(c.size, c.batch);
  let inference: tf.LayersModel | undefined;
  try {
    const train = await rate(() => tf.tidy(() => optimizer.minimize(lossOf(model, x, y), true)!.dataSync()), seconds);
    // the labeler's and the evaluator's inference form (libs/checkpoints' ModelCache): batch norms folded
    // into the convs once, untimed, as a loaded checkpoint is
    inference = (await foldBatchNorm(model)).model;
    const m = inference;
    const infer = await rate(() => tf.tidy(() => (m.predict(x, { batchSize: c.batch }) as tf.Tensor).dataSync()), seconds / 2);
    const session = await openOnnxSession(encodeOnnx(exportOnnx(model, {})), { threads });
    const feed = { name: model.inputNames[0], data: x.dataSync() as Float32Array, shape: x.shape };
    const onnxInfer = await rate(() => runOnnx(session, feed), seconds / 2);
    await session.release();
    return { trainImgPerS: +(train * c.batch).toFixed(1), inferImgPerS: +(infer * c.batch).toFixed(1), onnxInferImgPerS: +(onnxInfer * c.batch).toFixed(1) };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    if (inference !== model) inference?.dispose();
    model.dispose();
  }
}

/** Messages to a replica worker: compute gradients from these weights, or run inference. */
type ReplicaRequest = { kind: 'grads'; weights: Float32Array[] } | { kind: 'predict' };

/**
 * Two replicas of 1 thread: this thread and a worker each take half the batch; every step the worker gets
 * the weights and sends its gradients back, and their mean is one optimizer step on the whole batch (as
 * libs/train's GradientReplicas does; batch norm statistics per half, moving averages from this half).
 */
async function measureReplicas(c: Case, seconds: number): Promise<ResnetRun> {
  const half = c.batch / 2;
  const worker = new Worker(__filename, { workerData: { resnetReplica: { ...c, batch: half } } });
  let failed: Error | undefined;
  worker.on('error', (err) => { failed = err; });
  const reply = () => new Promise<Float32Array[]>((resolve, reject) => {
    if (failed) reject(failed);
    worker.once('message', resolve);
  });
  await reply(); // ready
  const model = NETS[c.net].build(c.size);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const [x, y] = randomBatch(c.size, half);
  const vars = trainable(model);
  try {
    const step = async () => {
      const weights = vars.map((v) => v.dataSync() as Float32Array);
      const theirs = reply();
      worker.postMessage({ kind: 'grads', weights } satisfies ReplicaRequest, weights.map((w) => w.buffer as ArrayBuffer));
      const { value, grads } = tf.variableGrads(lossOf(model, x, y), vars);
      const other = await theirs;
      const mean = tf.tidy(() => Object.fromEntries(vars.map((v, i) => [v.name, tf.mul(tf.add(grads[v.name], tf.tensor(other[i], v.shape)), 0.5)])));
      optimizer.applyGradients(mean as never);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads), ...Object.values(mean)]);
    };
    const predict = async () => {
      const theirs = reply();
      worker.postMessage({ kind: 'predict' } satisfies ReplicaRequest);
      tf.tidy(() => (model.predict(x, { batchSize: half }) as tf.Tensor).dataSync());
      await theirs;
    };
    const train = await rate(step, seconds);
    const infer = await rate(predict, seconds / 2);
    return { trainImgPerS: +(train * c.batch).toFixed(1), inferImgPerS: +(infer * c.batch).toFixed(1) };
  } finally {
    await worker.terminate();
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

/** The worker side of measureReplicas: its own engine and wasm instance, one native thread. */
async function replicaWorker(c: Case): Promise<void> {
  await initBackend({ prefer: 'wasm' });
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  const model = NETS[c.net].build(c.size);
  const [x, y] = randomBatch(c.size, c.batch);
  const vars = trainable(model);
  parentPort!.on('message', (m: ReplicaRequest) => {
    if (m.kind === 'predict') {
      tf.tidy(() => (model.predict(x, { batchSize: c.batch }) as tf.Tensor).dataSync());
      parentPort!.postMessage([]);
      return;
    }
    tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(m.weights[i], v.shape))));
    // The gradients leave tidy as tensors and are read after it: tidy walks whatever its function returns,
    // element by element through typed arrays (this made the replica 5-8x slower than the same step alone).
    const tensors = tf.tidy(() => {
      const { value, grads: g } = tf.variableGrads(lossOf(model, x, y), vars);
      value.dispose();
      return vars.map((v) => g[v.name]);
    });
    const grads = tensors.map((g) => g.dataSync() as Float32Array);
    tf.dispose(tensors);
    parentPort!.postMessage(grads, grads.map((g) => g.buffer as ArrayBuffer));
  });
  parentPort!.postMessage([]);
}

/** Milliseconds per group in one training step on 1 thread (gradients and optimizer profiled apart). */
export async function profileStep(c: Case): Promise<Record<string, number>> {
  const model = NETS[c.net].build(c.size);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const [x, y] = randomBatch(c.size, c.batch);
  const groups: Record<string, number> = {};
  const add = async (info: Awaited<ReturnType<typeof tf.profile>>, fixed?: string) => {
    for (const k of info.kernels) {
      // an op's wrapper record (fusedConv2d__op) times the kernels it ran, which have their own records
      if (k.name.endsWith('__op')) continue;
      const ms = await k.kernelTimeMs;
      if (typeof ms !== 'number') continue;
      const group = fixed ?? KERNEL_GROUPS[k.name] ?? (process.env.BENCH_RESNET_KERNELS === '1' ? k.name : 'elementwise and other');
      groups[group] = (groups[group] ?? 0) + ms;
    }
  };
  try {
    tf.tidy(() => optimizer.minimize(lossOf(model, x, y), true)!.dataSync());
    // Profiled twice, the second kept: the first profiled step in a process showed batch norm's backward
    // at 52 ms where the addon's own call takes 15 (timed around it); from the second on, the two agree.
    for (let round = 0; round < 2; round++) {
      for (const k of Object.keys(groups)) delete groups[k];
      let grads: tf.NamedTensorMap = {};
      const t0 = performance.now();
      await add(await tf.profile(() => { grads = tf.variableGrads(lossOf(model, x, y)).grads; return []; }));
      await add(await tf.profile(() => { optimizer.applyGradients(grads as never); return []; }), 'optimizer');
      groups['step (wall)'] = performance.now() - t0;
      tf.dispose(Object.values(grads));
    }
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
  return Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, +v.toFixed(1)]));
}

/**
 * The same nets in PyTorch: one JSON case per stdin line in, one result line out. Fair to PyTorch: its
 * thread count set per case, the same warm-up and timing loop as selftrain's, the same net, batch, loss
 * and optimizer, inference in eval mode under inference_mode (no autograd), and each case run in both
 * memory formats (NCHW, its default, and channels_last, NHWC as selftrain's) with the faster one kept
 * per figure and named. It prints one line once torch has loaded, so that its import is not timed beside
 * a selftrain case.
 */
const TORCH_SCRIPT = String.raw`
import json, sys, time
import torch, torch.nn as nn
class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)
        s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)
        s.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else nn.Identity()
    def forward(s, x):
        return torch.relu(s.sc(x) + s.b2(s.c2(torch.relu(s.b1(s.c1(x))))))
def net(name, size):
    if name == 'resnet10w32':
        stem, stages, blocks, dropout = [nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()], [32, 64, 128, 256], 1, 0
    else:  # libs/models resnet18: CIFAR stem up to 64 px, ImageNet's above; dropout 0.2 before the logits
        stem = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()] if size <= 64 else \
            [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
        stages, blocks, dropout = [64, 128, 256, 512], 2, 0.2
    layers, cin = stem, stages[0] if name == 'resnet18' else 32
    for i, cout in enumerate(stages):
        for b in range(blocks):
            layers.append(Block(cin, cout, 2 if i > 0 and b == 0 else 1)); cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)
def rate(step, seconds, warm_up):
    for _ in range(warm_up): step()
    n = 0; t = time.perf_counter()
    while n < 2 or time.perf_counter() - t < seconds:
        step(); n += 1
    return n / (time.perf_counter() - t)
def measure(c, fmt):
    torch.manual_seed(1)
    m = net(c['torch'], c['size']).to(memory_format=fmt); opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(c['batch'], 3, c['size'], c['size']).contiguous(memory_format=fmt); y = torch.randint(0, 10, (c['batch'],))
    def step():
        opt.zero_grad(); loss = nn.functional.cross_entropy(m(x), y); loss.backward(); opt.step(); loss.item()
    m.train(); train = rate(step, c['seconds'], c['warmUp'])
    m.eval()
    with torch.inference_mode():
        infer = rate(lambda: m(x), c['seconds'] / 2, c['warmUp'])
    return train * c['batch'], infer * c['batch']
print(json.dumps({'ready': torch.__version__}), flush=True)
for line in sys.stdin:
    c = json.loads(line)
    torch.set_num_threads(c['threads'])
    runs = {name: measure(c, fmt) for name, fmt in (('NCHW', torch.contiguous_format), ('channels_last', torch.channels_last))}
    train = max(runs, key=lambda k: runs[k][0]); infer = max(runs, key=lambda k: runs[k][1])
    print(json.dumps({'trainImgPerS': round(runs[train][0], 1), 'inferImgPerS': round(runs[infer][1], 1),
                      'format': f'train {train}, infer {infer}'}), flush=True)
`;

/**
 * OMP_WAIT_POLICY as this process got it, before the native addon set it to PASSIVE for its own team
 * (native/parallel.c): PyTorch runs with the policy the user gave, not the addon's (passive OpenMP threads
 * sleep between PyTorch's many short parallel regions, which cost it up to a third on 2 threads).
 */
const USER_OMP_WAIT_POLICY = process.env.OMP_WAIT_POLICY;

const PYTHON = '/usr/bin/python3';

/**
 * One PyTorch process for the whole bench, idle between cases, so that its figures are taken between
 * selftrain's on the same (shared, noisy) machine rather than minutes later.
 */
class TorchRunner {
  private constructor(
    private readonly child: ChildProcess,
    readonly version: string,
    private readonly lines: AsyncIterator<string> = createInterface({ input: child.stdout! })[Symbol.asyncIterator](),
  ) {}

  /** The runner, or why PyTorch is skipped. */
  /** The runner once torch has loaded, or why PyTorch is skipped. */
  static async start(): Promise<TorchRunner | string> {
    const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.error != null || probe.status !== 0) {
      return `no torch in ${PYTHON} (Debian: apt-get install python3-torch); PyTorch comparison skipped`;
    }
    const env = { ...process.env };
    if (USER_OMP_WAIT_POLICY === undefined) delete env.OMP_WAIT_POLICY;
    else env.OMP_WAIT_POLICY = USER_OMP_WAIT_POLICY;
    const child = spawn(PYTHON, ['-c', TORCH_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'], env });
    const runner = new TorchRunner(child, '');
    const ready = JSON.parse(await runner.next()) as { ready: string };
    return new TorchRunner(child, ready.ready, runner.lines);
  }

  private async next(): Promise<string> {
    const line = await this.lines.next();
    if (line.done) throw new Error('the PyTorch process ended');
    return line.value as string;
  }

  async run(c: Case, threads: number, seconds: number): Promise<TorchRun> {
    this.child.stdin!.write(`${JSON.stringify({ ...c, torch: NETS[c.net].torch, threads, seconds, warmUp: WARM_UP_STEPS })}\n`);
    return JSON.parse(await this.next()) as TorchRun;
  }

  close(): void {
    this.child.stdin!.end();
  }
}

const SIZES = [32, 96];
const BATCHES = [128, 32];

export interface ResnetBench {
  kernels: string;
  /** seconds each timing loop runs (at least 2 steps) */
  seconds: number;
  /** key: `${net} ${size}px b${batch}` -> mode -> figures */
  selftrain: Record<string, Partial<Record<Mode, ResnetRun>>>;
  /** key as selftrain's -> '1 thread' | '2 threads' */
  torch?: Record<string, Partial<Record<Mode, TorchRun>>>;
  /** each figure is the best of this many rounds, the engines taking turns within each */
  rounds: number;
  torchVersion?: string;
  torchSkipped?: string;
  /** load average (1 min) range over the rounds of each case: the machine is shared */
  load: Record<string, string>;
  /** net -> ms per kernel group in one training step, 32 px, batch 128, 1 thread */
  profile: Record<string, Record<string, number>>;
  /**
   * case -> each round's 2-thread over 1-thread training figure, the two measured one after the other: a
   * slow spell of the shared machine in one round moves the ratio of the best figures more than the median.
   */
  roundRatios: Record<string, number[]>;
}

export const caseKey = (c: Case) => `${c.net} ${c.size}px b${c.batch}`;

/**
 * BENCH_RESNET_QUICK: 32 px, batch 128 only, 1.5 s loops. BENCH_RESNET_ROUNDS (default 3): rounds per
 * case, best figure kept. BENCH_RESNET_NETS: a comma-separated subset of NETS' names.
 */
export async function benchResnet(opts: { quick?: boolean; rounds?: number; nets?: string[] } = {}): Promise<ResnetBench> {
  // PyTorch first: its import is not timed beside a selftrain case, and it starts before the addon sets
  // OMP_WAIT_POLICY in this process's environment
  const torch = await TorchRunner.start();
  const info = await initBackend({ prefer: 'wasm' });
  if (info.name !== 'wasm') throw new Error(`bench needs wasm, got ${info.name}`);
  await tf.setBackend('wasm');
  const kernels = registerWasmTrainingKernels();
  const seconds = opts.quick ? 1.5 : 3;
  const rounds = opts.rounds ?? 3;
  const nets = opts.nets ?? Object.keys(NETS);
  const cases: Case[] = nets.flatMap((net) =>
    (opts.quick ? [32] : SIZES).flatMap((size) => (opts.quick ? [128] : BATCHES).map((batch) => ({ net, size, batch }))));
  const result: ResnetBench = { kernels: kernels.description, seconds, rounds, selftrain: {}, load: {}, profile: {}, roundRatios: {} };
  if (typeof torch === 'string') result.torchSkipped = torch;
  else { result.torch = {}; result.torchVersion = torch.version; }
  const note = (k: string, engine: string, mode: Mode, r: ResnetRun) =>
    process.stderr.write(`  ${k} ${engine} ${mode}: train ${r.trainImgPerS}, infer ${r.inferImgPerS}${r.onnxInferImgPerS ? ` (onnxruntime ${r.onnxInferImgPerS})` : ''} img/s${'format' in r ? ` (${String(r.format)})` : ''} (load ${loadavg()[0].toFixed(1)})\n`);
  try {
    for (const net of nets) result.profile[net] = await profileStep({ net, size: 32, batch: 128 });
    for (const c of cases) {
      const k = caseKey(c);
      const load: number[] = [];
      result.selftrain[k] = {};
      for (let round = 0; round < rounds; round++) {
        load.push(+loadavg()[0].toFixed(1));
        const train: Partial<Record<Mode, number>> = {};
        for (const mode of MODES) {
          const r = mode === '2 replicas' ? await measureReplicas(c, seconds) : await measureThreads(c, mode === '1 thread' ? 1 : 2, seconds);
          train[mode] = r.trainImgPerS;
          result.selftrain[k][mode] = best(result.selftrain[k][mode], r);
          note(k, 'selftrain', mode, r);
          if (typeof torch !== 'string' && mode !== '2 replicas') {
            const t = await torch.run(c, mode === '1 thread' ? 1 : 2, seconds);
            (result.torch![k] ??= {})[mode] = best(result.torch![k][mode], t);
            note(k, 'PyTorch', mode, t);
          }
        }
        if (train['1 thread'] && train['2 threads']) (result.roundRatios[k] ??= []).push(+(train['2 threads'] / train['1 thread']).toFixed(3));
      }
      result.load[k] = `${Math.min(...load)}-${Math.max(...load)}`;
    }
  } finally {
    if (typeof torch !== 'string') torch.close();
  }
  return result;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Table lines for bench.ts: each case's figures per mode, the PyTorch ratios, the 2-core choice, the step profiles. */
export function resnetLines(b: ResnetBench): string[][] {
  const lines: string[][] = [[`ResNet training / inference img/s, selftrain kernels: ${b.kernels}`, `train / infer img/s (${b.seconds} s loops, best of ${b.rounds})`]];
  const ratio = (a: number, c: number) => `x${(a / c).toFixed(2)}`;
  for (const [k, modes] of Object.entries(b.selftrain)) {
    lines.push([`  ${k} (load ${b.load[k]})`, '']);
    for (const [mode, v] of Object.entries(modes) as [Mode, ResnetRun][]) {
      const parts = [`${v.trainImgPerS} / ${v.inferImgPerS}${v.onnxInferImgPerS ? ` (onnxruntime ${v.onnxInferImgPerS})` : ''}`];
      const pt = b.torch?.[k]?.[mode === '2 replicas' ? '2 threads' : mode];
      const onnxRatio = v.onnxInferImgPerS && pt ? ` (onnxruntime ${ratio(v.onnxInferImgPerS, pt.inferImgPerS)})` : '';
      if (pt) parts.push(`PyTorch ${mode === '2 replicas' ? '2 threads ' : ''}${pt.trainImgPerS} / ${pt.inferImgPerS} (${ratio(v.trainImgPerS, pt.trainImgPerS)} / ${ratio(v.inferImgPerS, pt.inferImgPerS)}${onnxRatio}; ${pt.format})`);
      lines.push([`    ${mode}`, parts.join(';  ')]);
    }
    const one = modes['1 thread'];
    const two = modes['2 threads'];
    const reps = modes['2 replicas'];
    if (one && two) lines.push(['    2 threads / 1 thread', `train ${ratio(two.trainImgPerS, one.trainImgPerS)}, infer ${ratio(two.inferImgPerS, one.inferImgPerS)}`]);
    const perRound = b.roundRatios?.[k] ?? [];
    if (perRound.length > 1) lines.push(['    2 threads / 1 thread, train, each round', `${perRound.map((r) => `x${r.toFixed(2)}`).join(', ')} (median x${median(perRound).toFixed(2)})`]);
    if (one && two && reps) {
      const trainBest = two.trainImgPerS >= reps.trainImgPerS ? '2 threads' : '2 replicas';
      const inferBest = two.inferImgPerS >= reps.inferImgPerS ? '2 threads' : '2 replicas';
      lines.push(['    2 cores / 1 thread, the faster way', `train ${ratio(Math.max(two.trainImgPerS, reps.trainImgPerS), one.trainImgPerS)} (${trainBest}), infer ${ratio(Math.max(two.inferImgPerS, reps.inferImgPerS), one.inferImgPerS)} (${inferBest})`]);
    }
  }
  lines.push(['  PyTorch', b.torchSkipped ?? `${b.torchVersion} (${PYTHON})`]);
  for (const [net, p] of Object.entries(b.profile)) {
    lines.push([`  one training step of ${net}, 32 px, batch 128, 1 thread`, 'ms']);
    lines.push(...Object.entries(p).sort((x, y) => y[1] - x[1]).map(([k, v]) => [`    ${k}`, String(v)]));
  }
  return lines;
}

if (!isMainThread && (workerData as { resnetReplica?: Case } | null)?.resnetReplica != null) {
  replicaWorker((workerData as { resnetReplica: Case }).resnetReplica).catch((err) => { throw err; });
} else if (require.main === module) {
  benchResnet({
    quick: process.env.BENCH_RESNET_QUICK === '1',
    rounds: process.env.BENCH_RESNET_ROUNDS ? Number(process.env.BENCH_RESNET_ROUNDS) : undefined,
    nets: process.env.BENCH_RESNET_NETS?.split(',').map((n) => n.trim()),
  }).then((b) => {
    process.stdout.write(`${resnetLines(b).map(([k, v]) => `${k.padEnd(60)} ${v}`).join('\n')}\n\n${JSON.stringify(b, null, 2)}\n`);
  }, (err) => { console.error(err); process.exit(1); });
}
