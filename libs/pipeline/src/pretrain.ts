import { createHash } from 'node:crypto';
import { TrainObjective, TrainResult, type StartTeacherRequest } from '@selftrain/proto';
import type { DriverDeps } from './driver';
import type { ExperimentGrid, PretrainKind, ResolvedInit } from './experiment-grid';
import { shortHash } from './experiment-grid';
import { ingestSpecDataset } from './ingest-spec-dataset';
import { validateSpec, type RunSpec } from './spec';
import { trainOptionsFromSpec } from './train-options-from-spec';
import { runTrainingJob } from './training-job';

/** What a pretraining produced, for the experiment's results. */
export interface PretrainOutcome {
  kind: PretrainKind;
  dataset: string;
  trainSplit: string;
  checkpoint: string;
  steps: number;
  /** Supervised: top-1 on the coarse task's val split; SimCLR: contrastive top-1 on val views. */
  bestVal: number;
  seconds: number;
  reused: boolean;
}

/** The coarse-label twin of the base dataset: supervised pretraining's task and joint training's auxiliary one. */
export function coarseDataset(grid: ExperimentGrid, base: RunSpec): RunSpec['dataset'] {
  const p = grid.pretrain;
  return {
    ...base.dataset, labels_per_class: p.coarse_labels_per_class, val_per_class: p.coarse_val_per_class,
    prefix: `${base.dataset.prefix}-coarse-l${p.coarse_labels_per_class}-v${p.coarse_val_per_class}-s${base.dataset.seed}`,
  };
}

/**
 * Makes the inits the grid asks for (supervised / SimCLR pretraining on the teacher service, the coarse
 * dataset joint training needs) and says what each init value becomes in its cells. A pretraining is
 * keyed by a digest of its request, so a rerun, or another grid with the same settings, reuses it.
 */
export async function resolveGridInits(grid: ExperimentGrid, deps: DriverDeps): Promise<{ inits: Record<string, ResolvedInit>; pretraining: PretrainOutcome[] }> {
  const base = validateSpec({ ...grid.base, name: grid.name });
  const inits: Record<string, ResolvedInit> = {};
  const pretraining: PretrainOutcome[] = [];
  const wants = (i: string) => grid.axes.init.includes(i);
  let coarse: string | undefined;
  if (wants('supervised') || wants('joint')) {
    coarse = coarseDataset(grid, base).prefix;
    await ingestSpecDataset(deps.store, coarseDataset(grid, base), deps.display, 'ingest coarse labels', 'coarse');
  }
  if (wants('supervised')) {
    const outcome = await pretrain('supervised', coarse!, 'labeled', grid, base, deps);
    pretraining.push(outcome);
    inits.supervised = { tag: `sup${shortHash(outcome.checkpoint)}`, initCheckpoint: outcome.checkpoint };
  }
  if (wants('simclr')) {
    // The unlabeled pool of the base dataset; its labels stay withheld.
    await ingestSpecDataset(deps.store, base.dataset, deps.display, 'ingest base dataset');
    const outcome = await pretrain('simclr', base.dataset.prefix, 'unlabeled', grid, base, deps);
    pretraining.push(outcome);
    inits.simclr = { tag: `simclr${shortHash(outcome.checkpoint)}`, initCheckpoint: outcome.checkpoint };
  }
  if (wants('joint')) {
    inits.joint = { tag: `joint${shortHash(`${coarse}@${grid.pretrain.joint_weight}`)}`, auxiliaryDataset: coarse, auxiliaryWeight: grid.pretrain.joint_weight };
  }
  return { inits, pretraining };
}

async function pretrain(kind: PretrainKind, dataset: string, trainSplit: string, grid: ExperimentGrid, base: RunSpec, deps: DriverDeps): Promise<PretrainOutcome> {
  const section = kind === 'supervised' ? grid.pretrain.supervised : grid.pretrain.simclr;
  // The encoder must be the cells' encoder: model and width come from the base teacher.
  const options = trainOptionsFromSpec({ ...section, model: base.teacher.model, width: base.teacher.width, init_checkpoint: '', auxiliary_dataset: '', auxiliary_weight: 1 });
  if (kind === 'simclr') {
    options.objective = TrainObjective.TRAIN_OBJECTIVE_SIMCLR;
    options.contrastiveTemperature = grid.pretrain.simclr.contrastive_temperature;
  }
  // activationScale: SimCLR's best checkpoint is saved at a fresh model's activation scale (libs/trainer);
  // inits made before that are not reused.
  // contrastiveTemperature: 0 is how a supervised request said "unset" before fields had presence; the
  // digest keeps it so inits made then are still found.
  const defining = { kind, dataset, trainSplit, validationSplit: 'val', options: { ...options, contrastiveTemperature: options.contrastiveTemperature ?? 0 }, ...(kind === 'simclr' ? { activationScale: 'matched' } : {}) };
  const digest = createHash('sha256').update(JSON.stringify(defining)).digest('hex').slice(0, 16);
  const request: StartTeacherRequest = { jobId: `pretrain-${kind}-${digest}`, dataset, trainSplit, validationSplit: 'val', options, outputPrefix: `pretrain/${kind}-${digest}` };
  const label = `pretrain ${kind}`;
  const resultKey = `${request.outputPrefix}/train-result.json`;
  const t0 = Date.now();
  let result: TrainResult;
  let reused = false;
  if (await deps.store.exists(resultKey)) {
    result = TrainResult.fromJSON(await deps.store.getJson(resultKey));
    reused = true;
    deps.display.finish(label, `reused ${result.bestCheckpoint?.key}`);
  } else {
    deps.display.note(`${label}: on ${dataset} (${trainSplit}), ${options.maxSteps} steps`);
    result = await runTrainingJob(deps, 'teacher', request, label);
  }
  return {
    kind, dataset, trainSplit, checkpoint: result.bestCheckpoint!.key, steps: result.steps, bestVal: result.bestValTop1,
    seconds: reused ? 0 : (Date.now() - t0) / 1000, reused,
  };
}
