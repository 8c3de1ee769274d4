import type { CurvePoint, RunRecord } from '@selftrain/proto';
import type { ExperimentTable } from '@selftrain/report';
import type { ExperimentGrid, GridCell } from './experiment-grid';
import type { PretrainOutcome } from './pretrain';

/** What one cell's run measured: the teacher (supervised only) and, when it ran, the student. */
export interface CellResult {
  fraction: number;
  augment: string;
  init: string;
  seed: number;
  run: string;
  teacherTop1?: number;
  studentTop1?: number;
  teacherCurve: CurvePoint[];
  /** Why the cell has no self-training row (e.g. its teacher kept no pseudo-label). */
  error?: string;
}

export function cellResult(cell: GridCell, record: RunRecord | undefined): CellResult {
  const g = record?.generations[0];
  return {
    fraction: cell.fraction, augment: cell.augment, init: cell.init, seed: cell.seed, run: cell.spec.name,
    teacherTop1: g?.teacherEval?.top1, studentTop1: g?.studentEval?.top1, teacherCurve: g?.teacherTrain?.curve ?? [],
  };
}

const fmt = (x: number) => (100 * x).toFixed(2);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}`;

/** Mean over seeds, with the spread (half the range) when there are several. */
function summary(values: number[]): { mean: number; text: string } | undefined {
  if (values.length === 0) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const spread = values.length > 1 ? (Math.max(...values) - Math.min(...values)) / 2 : 0;
  return { mean, text: values.length > 1 ? `${fmt(mean)} ±${(100 * spread).toFixed(2)}` : fmt(mean) };
}

const INIT_NAMES: Record<string, string> = {
  random: 'Rand Init', supervised: 'Supervised Init (coarse labels)', simclr: 'SimCLR Init', joint: 'Joint Training (coarse labels)',
};
const initName = (init: string) => INIT_NAMES[init] ?? `Pretrain Init (${init.slice('checkpoint:'.length).replace(/\/model\.json$/, '')})`;

/** What each pretraining the grid ran reached on its own task. */
export function pretrainingTable(outcomes: PretrainOutcome[]): ExperimentTable {
  return {
    title: 'Pretraining: the inits the grid made',
    columns: ['task', 'steps', 'best val', 'seconds', 'checkpoint'],
    rows: outcomes.map((o) => ({
      name: INIT_NAMES[o.kind],
      values: {
        task: o.kind === 'supervised' ? `coarse labels, ${o.dataset} ${o.trainSplit}` : `NT-Xent on ${o.dataset} ${o.trainSplit} (labels unused)`,
        steps: String(o.steps), 'best val': fmt(o.bestVal), seconds: o.reused ? 'reused' : o.seconds.toFixed(0), checkpoint: o.checkpoint,
      },
    })),
    note: 'best val: top-1 on the coarse val split (supervised); contrastive top-1 of matching the two views of val images (SimCLR)',
  };
}

/**
 * The paper's tables (Zoph et al. Tables 2-4 form): rows are each init, supervised and + self-training;
 * columns the values of one axis; every cell is the mean top-1 over seeds with its spread and its gain
 * over the supervised Rand Init baseline of the same column.
 */
function table(grid: ExperimentGrid, results: CellResult[], fixed: { axis: 'augment' | 'fraction'; value: string | number }, columns: (string | number)[], label: (c: string | number) => string): ExperimentTable {
  const inCol = (r: CellResult, c: string | number) => (fixed.axis === 'augment' ? r.augment === fixed.value && r.fraction === c : r.fraction === fixed.value && r.augment === c);
  const rows = [];
  for (const init of grid.axes.init) {
    for (const st of grid.axes.self_training) {
      const values: Record<string, string> = {};
      for (const c of columns) {
        const pick = (r: CellResult) => (st ? r.studentTop1 : r.teacherTop1);
        const mine = summary(results.filter((r) => r.init === init && inCol(r, c)).map(pick).filter((x): x is number => x !== undefined));
        const base = summary(results.filter((r) => r.init === 'random' && inCol(r, c)).map((r) => r.teacherTop1).filter((x): x is number => x !== undefined));
        const isBase = init === 'random' && !st;
        values[label(c)] = !mine ? '-' : isBase || !base ? mine.text : `${mine.text} (${signed(mine.mean - base.mean)})`;
      }
      rows.push({ name: `${initName(init)}${st ? ' + self-training' : ''}`, values });
    }
  }
  const title = fixed.axis === 'augment' ? `Augment-${String(fixed.value).toUpperCase()}: top-1 by labeled fraction` : `${Math.round(Number(fixed.value) * 100)} % of the labels: top-1 by augmentation`;
  const missing = results.filter((r) => r.error && columns.some((c) => inCol(r, c))).map((r) => `${initName(r.init)}, ${label(fixed.axis === 'augment' ? r.fraction : r.augment)}, seed ${r.seed}: ${r.error}`);
  const note = `mean top-1 on the test split over seeds ${grid.seeds.join(', ')} (± half the range); in brackets the gain over supervised Rand Init`;
  return { title, columns: columns.map(label), rows, note: missing.length ? `${note}. No self-training row for ${missing.join('; ')}` : note };
}

export function experimentTables(grid: ExperimentGrid, results: CellResult[]): ExperimentTable[] {
  const fractions = grid.axes.labeled_fraction;
  const augments = grid.axes.augment;
  const pct = (f: string | number) => `${Math.round(Number(f) * 100)} %`;
  return [
    ...augments.map((a) => table(grid, results, { axis: 'augment', value: a }, fractions, pct)),
    ...fractions.map((f) => table(grid, results, { axis: 'fraction', value: f }, augments, (a) => String(a).toUpperCase())),
    convergenceTable(grid, results),
  ];
}

/**
 * Convergence (the paper's 1.3-8x claim): the evaluation step at which each pretrained teacher first
 * reaches the best validation top-1 the Rand Init teacher of the same cell reached at all, against the
 * step where Rand Init reached it; speed-up = the ratio. Averaged over seeds.
 */
export function convergenceTable(grid: ExperimentGrid, results: CellResult[]): ExperimentTable {
  const firstAt = (curve: CurvePoint[], target: number) => curve.find((p) => p.valTop1 >= target - 1e-9)?.step;
  const rows = [];
  for (const init of grid.axes.init.filter((i) => i !== 'random')) {
    const values: Record<string, string> = {};
    for (const f of grid.axes.labeled_fraction) for (const a of grid.axes.augment) {
      const ratios: number[] = [];
      for (const seed of grid.seeds) {
        const rand = results.find((r) => r.init === 'random' && r.fraction === f && r.augment === a && r.seed === seed);
        const pre = results.find((r) => r.init === init && r.fraction === f && r.augment === a && r.seed === seed);
        if (!rand?.teacherCurve.length || !pre?.teacherCurve.length) continue;
        const target = Math.max(...rand.teacherCurve.map((p) => p.valTop1));
        const [sr, sp] = [firstAt(rand.teacherCurve, target), firstAt(pre.teacherCurve, target)];
        if (sr !== undefined && sp !== undefined) ratios.push(sr / sp);
      }
      values[`${Math.round(f * 100)} % ${a.toUpperCase()}`] = ratios.length ? `${(ratios.reduce((x, y) => x + y, 0) / ratios.length).toFixed(2)}x` : 'not reached';
    }
    rows.push({ name: initName(init), values });
  }
  return {
    title: 'Convergence: steps for Rand Init to reach its best validation top-1, over the steps for the pretrained init to reach it',
    columns: grid.axes.labeled_fraction.flatMap((f) => grid.axes.augment.map((a) => `${Math.round(f * 100)} % ${a.toUpperCase()}`)),
    rows, note: 'evaluation steps of the teacher (supervised) runs; "not reached": the pretrained init never reached it',
  };
}

/** The same tables as Markdown, for the terminal and the README. */
export function markdownTable(t: ExperimentTable): string {
  const cols = t.columns.map((c) => (typeof c === 'string' ? c : c.label ?? c.key));
  const keys = t.columns.map((c) => (typeof c === 'string' ? c : c.key));
  const lines = [`**${t.title}**`, '', `| | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---').join('|')}|`];
  for (const r of t.rows) lines.push(`| ${r.name} | ${keys.map((k) => String(r.values[k] ?? '-')).join(' | ')} |`);
  if (t.note) lines.push('', t.note);
  return lines.join('\n');
}
