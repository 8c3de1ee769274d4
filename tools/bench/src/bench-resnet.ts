/**
 * The real-image classifier's speed: ResNet-10 w32 (the standard small CIFAR ResNet: 3x3 stem conv of 32
 * + BN + ReLU, four basic blocks of 32, 64, 128, 256 filters, stride 2 in the last three, 1x1 projection
 * shortcuts with BN, global average pooling, dense 10), built from stock tf.layers as libs/models builds its
 * zoo, trained with SGD + momentum on random data. Part of `npm run bench` (issue 17); ~3 min.
 * For each input size and batch: train and inference img/s on 1 and 2 threads, for each kernel set
 * (oneDNN where it loads, the OpenBLAS kernels), and a per-kernel profile of one training step. Where
 * /usr/bin/python3 has torch (Debian's python3-torch), the same net runs in PyTorch in the same run and
 * the ratios are printed; without torch that part is skipped with a note.
 * Standalone: `node libs/pipeline/dist/bench-resnet.js` (BENCH_RESNET_QUICK=1: 32 px, batch 128 only, one
 * round). Each figure also goes to stderr as it is measured.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { initBackend, registerWasmTrainingKernels, setNativeThreads, tf } from '@selftrain/compute';

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

export interface Case { size: number; batch: number; trainSteps: number; inferBatches: number }

/** The profile's groups: kernel name -> what it is part of in a training step of this net. */
const KERNEL_GROUPS: Record<string, string> = {
  Conv2D: 'conv forward', FusedConv2D: 'conv forward', Conv2DBackpropInput: 'conv backprop-input',
  Conv2DBackpropFilter: 'conv backprop-filter', FusedBatchNorm: 'batch norm forward',
  SelftrainBatchNormTrain: 'batch norm forward', SelftrainBatchNormGrad: 'batch norm backward',
  Mean: 'reductions (BN moments, pooling, loss)', Sum: 'reductions (BN moments, pooling, loss)',
  BatchMatMul: 'dense', _FusedMatMul: 'dense',
};

function trainStep(model: tf.LayersModel, optimizer: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(() => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar, true,
    )!;
    return loss.dataSync()[0];
  });
}

export interface ResnetRun { trainImgPerS: number; inferImgPerS: number }

async function measure(c: Case): Promise<ResnetRun> {
  const model = buildResnet10(c.size);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const x = tf.randomUniform([c.batch, c.size, c.size, 3]);
  const y = tf.oneHot(tf.randomUniform([c.batch], 0, 10, 'int32') as tf.Tensor1D, 10);
  try {
    trainStep(model, optimizer, x, y); // kernel setup, primitive creation, momentum slots
    let t = performance.now();
    for (let i = 0; i < c.trainSteps; i++) trainStep(model, optimizer, x, y);
    const trainS = (performance.now() - t) / 1000;
    tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    t = performance.now();
    for (let i = 0; i < c.inferBatches; i++) tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const inferS = (performance.now() - t) / 1000;
    return {
      trainImgPerS: +((c.trainSteps * c.batch) / trainS).toFixed(1),
      inferImgPerS: +((c.inferBatches * c.batch) / inferS).toFixed(1),
    };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

/** Milliseconds per group in one training step (gradients and optimizer profiled apart). */
export async function profileStep(c: Case): Promise<Record<string, number>> {
  const model = buildResnet10(c.size);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const x = tf.randomUniform([c.batch, c.size, c.size, 3]);
  const y = tf.oneHot(tf.randomUniform([c.batch], 0, 10, 'int32') as tf.Tensor1D, 10);
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
    trainStep(model, optimizer, x, y);
    const loss = () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor).mean() as tf.Scalar;
    let grads: tf.NamedTensorMap = {};
    const t0 = performance.now();
    await add(await tf.profile(() => { grads = tf.variableGrads(loss).grads; return []; }));
    await add(await tf.profile(() => { optimizer.applyGradients(grads as never); return []; }), 'optimizer');
    groups['step (wall)'] = performance.now() - t0;
    tf.dispose(Object.values(grads));
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
  return Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, +v.toFixed(1)]));
}

/** The same net in PyTorch (NCHW, its defaults): one JSON case per stdin line in, one result line out. */
const TORCH_SCRIPT = String.raw`
import json, sys, time
import torch, torch.nn as nn
def block(cin, cout, stride):
    class B(nn.Module):
        def __init__(s):
            super().__init__()
            s.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)
            s.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)
            s.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else nn.Identity()
        def forward(s, x):
            return torch.relu(s.sc(x) + s.b2(s.c2(torch.relu(s.b1(s.c1(x))))))
    return B()
def net():
    layers = [nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
    cin = 32
    for cout, stride in [(32, 1), (64, 2), (128, 2), (256, 2)]:
        layers.append(block(cin, cout, stride)); cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10)]
    return nn.Sequential(*layers)
for line in sys.stdin:
    c = json.loads(line)
    torch.set_num_threads(c['threads'])
    torch.manual_seed(1)
    m = net(); opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(c['batch'], 3, c['size'], c['size']); y = torch.randint(0, 10, (c['batch'],))
    def step():
        opt.zero_grad(); loss = nn.functional.cross_entropy(m(x), y); loss.backward(); opt.step()
    m.train(); step()
    t = time.perf_counter()
    for _ in range(c['trainSteps']): step()
    train = c['trainSteps'] * c['batch'] / (time.perf_counter() - t)
    m.eval()
    with torch.no_grad():
        m(x); t = time.perf_counter()
        for _ in range(c['inferBatches']): m(x)
        infer = c['inferBatches'] * c['batch'] / (time.perf_counter() - t)
    print(json.dumps({'trainImgPerS': round(train, 1), 'inferImgPerS': round(infer, 1)}), flush=True)
`;

const PYTHON = '/usr/bin/python3';

/**
 * One PyTorch process for the whole bench, idle between cases, so that its figures are taken between
 * selftrain's on the same (shared, noisy) machine rather than minutes later.
 */
class TorchRunner {
  private readonly lines: AsyncIterator<string>;

  private constructor(private readonly child: ChildProcess, readonly version: string) {
    this.lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  /** The runner, or why PyTorch is skipped. */
  static start(): TorchRunner | string {
    const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (probe.error != null || probe.status !== 0) {
      return `no torch in ${PYTHON} (Debian: apt-get install python3-torch); PyTorch comparison skipped`;
    }
    const child = spawn(PYTHON, ['-c', TORCH_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    return new TorchRunner(child, probe.stdout.trim());
  }

  async run(c: Case & { threads: number }): Promise<ResnetRun> {
    this.child.stdin!.write(`${JSON.stringify(c)}\n`);
    const line = await this.lines.next();
    if (line.done) throw new Error('the PyTorch process ended');
    return JSON.parse(line.value) as ResnetRun;
  }

  close(): void {
    this.child.stdin!.end();
  }
}

const CASES: Case[] = [
  { size: 32, batch: 128, trainSteps: 4, inferBatches: 6 },
  { size: 32, batch: 32, trainSteps: 8, inferBatches: 16 },
  { size: 96, batch: 32, trainSteps: 2, inferBatches: 3 },
];
const THREADS = [1, 2];
/** Each figure is the best of this many runs, the engines taking turns (one run moved by +-30 % here). */
const ROUNDS = 2;

export interface ResnetBench {
  model: string;
  kernels: string;
  rounds: number;
  /** key: `${size}px b${batch} ${threads}t` */
  selftrain: Record<string, ResnetRun>;
  /** the kernels before oneDNN (OpenBLAS convs, tf.layers' own batch norm) on the same cases, where oneDNN is in use */
  openblas?: Record<string, ResnetRun>;
  torch?: Record<string, ResnetRun>;
  torchVersion?: string;
  torchSkipped?: string;
  /** ms per kernel group in one training step, 32 px, batch 128, 1 thread */
  profile: Record<string, number>;
  profileOpenblas?: Record<string, number>;
}

export async function benchResnet(opts: { quick?: boolean } = {}): Promise<ResnetBench> {
  const info = await initBackend({ prefer: 'wasm' });
  if (info.name !== 'wasm') throw new Error(`bench needs wasm, got ${info.name}`);
  await tf.setBackend('wasm');
  const cases = opts.quick ? CASES.slice(0, 1) : CASES;
  const rounds = opts.quick ? 1 : ROUNDS;
  const key = (c: Case, t: number) => `${c.size}px b${c.batch} ${t}t`;
  const kernels = registerWasmTrainingKernels();
  const result: ResnetBench = {
    model: 'ResNet-10 w32 (tf.layers), SGD momentum 0.9, random data', kernels: kernels.description, rounds,
    selftrain: {}, profile: {},
  };
  result.profile = await profileStep(cases[0]);
  const compareOld = kernels.dnnl;
  if (compareOld) {
    registerWasmTrainingKernels({ dnnl: false, batchNorm: false });
    result.profileOpenblas = await profileStep(cases[0]);
    result.openblas = {};
  }
  const torch = TorchRunner.start();
  if (typeof torch === 'string') result.torchSkipped = torch;
  else { result.torch = {}; result.torchVersion = torch.version; }
  const best = (into: Record<string, ResnetRun>, k: string, r: ResnetRun) => {
    const engine = into === result.selftrain ? 'selftrain' : into === result.openblas ? 'kernels before oneDNN' : 'PyTorch';
    process.stderr.write(`  ${k} ${engine}: train ${r.trainImgPerS}, infer ${r.inferImgPerS} img/s\n`);
    const b = into[k];
    into[k] = b == null ? r : { trainImgPerS: Math.max(b.trainImgPerS, r.trainImgPerS), inferImgPerS: Math.max(b.inferImgPerS, r.inferImgPerS) };
  };
  try {
    for (const c of cases) {
      for (const threads of THREADS) {
        const k = key(c, threads);
        for (let round = 0; round < rounds; round++) {
          setNativeThreads(threads);
          registerWasmTrainingKernels();
          best(result.selftrain, k, await measure(c));
          if (compareOld) {
            registerWasmTrainingKernels({ dnnl: false, batchNorm: false });
            best(result.openblas!, k, await measure(c));
          }
          setNativeThreads(1);
          if (typeof torch !== 'string') best(result.torch!, k, await torch.run({ ...c, threads }));
        }
      }
    }
  } finally {
    setNativeThreads(1);
    registerWasmTrainingKernels();
    if (typeof torch !== 'string') torch.close();
  }
  return result;
}

/** Table lines for bench.ts: each case's figures, the PyTorch ratios, and the step profile. */
export function resnetLines(b: ResnetBench): string[][] {
  const lines: string[][] = [[`ResNet-10 w32, selftrain kernels: ${b.kernels}`, `train / infer img/s (best of ${b.rounds})`]];
  for (const [k, v] of Object.entries(b.selftrain)) {
    const parts = [`${v.trainImgPerS} / ${v.inferImgPerS}`];
    const ob = b.openblas?.[k];
    if (ob) parts.push(`OpenBLAS kernels ${ob.trainImgPerS} / ${ob.inferImgPerS}`);
    const pt = b.torch?.[k];
    if (pt) parts.push(`PyTorch ${pt.trainImgPerS} / ${pt.inferImgPerS} (x${(v.trainImgPerS / pt.trainImgPerS).toFixed(2)} / x${(v.inferImgPerS / pt.inferImgPerS).toFixed(2)})`);
    lines.push([`  ${k}`, parts.join(';  ')]);
  }
  const one = b.selftrain['32px b128 1t'];
  const two = b.selftrain['32px b128 2t'];
  if (one && two) lines.push(['  2 threads / 1 thread, 32 px, batch 128, training', `${(two.trainImgPerS / one.trainImgPerS).toFixed(2)}x`]);
  if (b.torchSkipped) lines.push(['  PyTorch', b.torchSkipped]);
  else lines.push(['  PyTorch', `${b.torchVersion} (${PYTHON})`]);
  const profileLines = (title: string, p: Record<string, number>) => [
    [title, 'ms'],
    ...Object.entries(p).sort((x, y) => y[1] - x[1]).map(([k, v]) => [`    ${k}`, String(v)]),
  ];
  lines.push(...profileLines('  one training step, 32 px, batch 128, 1 thread', b.profile));
  if (b.profileOpenblas) lines.push(...profileLines('  same, OpenBLAS kernels', b.profileOpenblas));
  return lines;
}

if (require.main === module) {
  benchResnet({ quick: process.env.BENCH_RESNET_QUICK === '1' }).then((b) => {
    process.stdout.write(`${resnetLines(b).map(([k, v]) => `${k.padEnd(60)} ${v}`).join('\n')}\n\n${JSON.stringify(b, null, 2)}\n`);
  }, (err) => { console.error(err); process.exit(1); });
}
