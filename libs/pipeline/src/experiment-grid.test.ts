import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputErrors } from '@selftrain/errors';
import { expandGrid, validateGrid } from './experiment-grid';
import { validateSpec } from './spec';
import { convergenceTable, experimentTables, markdownTable, type CellResult } from './experiment-results';

const fields = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputErrors) return err.problems.map((p) => p.message);
    throw err;
  }
  return [];
};

test('an unknown axis or value is named before anything runs, every problem at once', () => {
  const problems = fields(() => validateGrid({
    name: 'study', axes: { augment: ['s1', 's9'], init: ['random', 'imagenet'], labeled_fraction: [0.2, 1.5], depth: [1] }, seeds: [0, -1],
    base: { teacher: { max_stepz: 1 } },
  }));
  assert.deepEqual(problems.map((p) => p.split(':')[0]).sort(), ['axes.augment[1]', 'axes.depth', 'axes.init[1]', 'axes.labeled_fraction[1]', 'base.teacher.max_stepz', 'seeds[1]']);
  assert.ok(problems.some((p) => p.startsWith('axes.depth: unknown axis (known: labeled_fraction, augment, init, self_training)')));
  assert.ok(problems.some((p) => p.includes('"s9" is not one of none, s1, s2, s3, s4')));
  assert.deepEqual(fields(() => validateGrid({ axes: {} })), ['name: is required: lower-case letters, digits and dashes, at most 41']);
});

test('cells: one run per fraction x augment x init x seed, labels scaled, init on teacher and student', () => {
  const grid = validateGrid({
    name: 'study', base: { dataset: { labels_per_class: 100 }, teacher: { max_steps: 50 } },
    axes: { labeled_fraction: [0.2, 1], augment: ['s1', 's4'], init: ['random', 'checkpoint:pre/coarse/model.json'], self_training: [false, true] }, seeds: [0, 1],
  });
  const cells = expandGrid(grid);
  assert.equal(cells.length, 2 * 2 * 2 * 2);
  assert.equal(new Set(cells.map((c) => c.spec.name)).size, cells.length, 'distinct run names');
  const c = cells.find((x) => x.fraction === 0.2 && x.augment === 's4' && x.init !== 'random' && x.seed === 1)!;
  assert.equal(c.spec.dataset.labels_per_class, 20);
  assert.equal(c.spec.dataset.prefix, 'datasets/fashion-mnist-l20-s1');
  assert.equal(c.spec.teacher.augment, 's4');
  assert.equal(c.spec.student.augment, 's4');
  assert.equal(c.spec.teacher.init_checkpoint, 'pre/coarse/model.json');
  assert.equal(c.spec.student.init_checkpoint, 'pre/coarse/model.json');
  assert.equal(c.spec.teacher.max_steps, 50, 'the base applies to every cell');
  assert.equal(c.selfTraining, true);
  assert.equal(cells.find((x) => x.init === 'random')!.spec.teacher.init_checkpoint, '');
  // The student starts from the teacher's init, so it gets the teacher's encoder (a plain run's student is wider).
  assert.equal(c.spec.student.width, c.spec.teacher.width);
  assert.notEqual(validateSpec({}).student.width, validateSpec({}).teacher.width);
  const own = expandGrid(validateGrid({ name: 'wide', base: { student: { width: 1 } }, axes: { labeled_fraction: [1], augment: ['s1'], init: ['random'], self_training: [true] }, seeds: [0] }));
  assert.equal(own[0].spec.student.width, 1, "the base's own student width is kept");
});

test('tables: mean over seeds with spread, gains over supervised Rand Init; convergence speed-up', () => {
  const grid = validateGrid({ name: 'g', axes: { labeled_fraction: [1], augment: ['s1'], init: ['random', 'checkpoint:p/model.json'], self_training: [false, true] }, seeds: [0, 1] });
  const curve = (pts: [number, number][]) => pts.map(([step, valTop1]) => ({ step, valTop1, loss: 0, learningRate: 0 }));
  const r = (init: string, seed: number, t: number, s: number, c: [number, number][]): CellResult => ({ fraction: 1, augment: 's1', init, seed, run: `${init}-${seed}`, teacherTop1: t, studentTop1: s, teacherCurve: curve(c) });
  const results = [
    r('random', 0, 0.80, 0.82, [[100, 0.5], [200, 0.7], [300, 0.8]]), r('random', 1, 0.82, 0.84, [[100, 0.6], [200, 0.8], [300, 0.8]]),
    r('checkpoint:p/model.json', 0, 0.83, 0.85, [[100, 0.8], [200, 0.85]]), r('checkpoint:p/model.json', 1, 0.85, 0.85, [[100, 0.7], [200, 0.8]]),
  ];
  const [byAugment, byFraction, convergence] = experimentTables(grid, results);
  const row = (t: typeof byAugment, name: string) => t.rows.find((x) => x.name === name)!.values['100 %'];
  assert.equal(row(byAugment, 'Rand Init'), '81.00 ±1.00');
  assert.equal(row(byAugment, 'Rand Init + self-training'), '83.00 ±1.00 (+2.00)');
  assert.equal(row(byAugment, 'Pretrain Init (p)'), '84.00 ±1.00 (+3.00)');
  assert.equal(row(byAugment, 'Pretrain Init (p) + self-training'), '85.00 ±0.00 (+4.00)');
  assert.equal(byFraction.rows[0].values.S1, '81.00 ±1.00');
  // Seed 0: Rand Init reaches its best 0.8 at step 300, the pretrained one at 100 (3x); seed 1: 200 vs 200 (1x).
  assert.equal(convergence.rows[0].values['100 % S1'], '2.00x');
  assert.equal(convergenceTable(grid, results.slice(0, 2)).rows.length, 1);
  assert.match(markdownTable(byAugment), /^\*\*Augment-S1: top-1 by labeled fraction\*\*\n\n\| \| 100 % \|\n\|---\|---\|\n\| Rand Init \| 81.00 ±1.00 \|/);
});

test('inits the grid makes: pretrain settings are checked up front, and each init lands on teacher and student', () => {
  const problems = fields(() => validateGrid({ name: 'g', axes: { init: ['random', 'imagenet'] }, pretrain: { supervised: { max_steps: 'many', model: 'resnet-small' }, depth: 2 } }));
  assert.deepEqual(problems.map((p) => p.split(':')[0]).sort(), ['axes.init[1]', 'pretrain.depth', 'pretrain.supervised.max_steps', 'pretrain.supervised.model']);
  assert.ok(problems.some((p) => p.includes('is not random, supervised, simclr, joint or checkpoint:KEY/model.json')));
  const grid = validateGrid({ name: 'g', axes: { init: ['random', 'supervised', 'simclr', 'joint'] }, pretrain: { joint_weight: 0.5 } });
  assert.equal(grid.pretrain.supervised.max_steps, 1500, 'defaults filled in');
  assert.equal(grid.pretrain.simclr.augment, 's2');
  assert.throws(() => expandGrid(grid), /init supervised has not been made yet/);
  const cells = expandGrid(grid, {
    supervised: { tag: 'supabc', initCheckpoint: 'pretrain/supervised-1/checkpoints/best/model.json' },
    simclr: { tag: 'simclrdef', initCheckpoint: 'pretrain/simclr-2/checkpoints/best/model.json' },
    joint: { tag: 'jointx', auxiliaryDataset: 'datasets/fashion-mnist-coarse', auxiliaryWeight: 0.5 },
  });
  const by = (init: string) => cells.find((c) => c.init === init)!.spec;
  assert.equal(by('supervised').teacher.init_checkpoint, 'pretrain/supervised-1/checkpoints/best/model.json');
  assert.equal(by('simclr').student.init_checkpoint, 'pretrain/simclr-2/checkpoints/best/model.json');
  assert.equal(by('joint').teacher.init_checkpoint, '', 'joint training starts from random');
  assert.deepEqual([by('joint').teacher.auxiliary_dataset, by('joint').student.auxiliary_weight], ['datasets/fashion-mnist-coarse', 0.5]);
  assert.equal(by('random').teacher.auxiliary_dataset, '');
  assert.deepEqual(cells.map((c) => c.spec.name), ['g-f100-s1-rand-s0', 'g-f100-s1-supabc-s0', 'g-f100-s1-simclrdef-s0', 'g-f100-s1-jointx-s0']);
});

test('a cell whose teacher kept no pseudo-label keeps its supervised row; the tables say why it has no self-training row', () => {
  const grid = validateGrid({ name: 'g', axes: { labeled_fraction: [1], augment: ['s4'], init: ['random', 'simclr'] } });
  const results: CellResult[] = [
    { fraction: 1, augment: 's4', init: 'random', seed: 0, run: 'a', teacherTop1: 0.8, studentTop1: 0.82, teacherCurve: [] },
    { fraction: 1, augment: 's4', init: 'simclr', seed: 0, run: 'b', teacherTop1: 0.1, teacherCurve: [], error: 'the teacher kept 0 of 100 pseudo-labels' },
  ];
  const [byAugment] = experimentTables(grid, results);
  const row = (name: string) => byAugment.rows.find((x) => x.name === name)!.values['100 %'];
  assert.equal(row('SimCLR Init'), '10.00 (-70.00)');
  assert.equal(row('SimCLR Init + self-training'), '-');
  assert.match(byAugment.note!, /No self-training row for SimCLR Init, 100 %, seed 0: the teacher kept 0 of 100 pseudo-labels$/);
});
