import { NotFoundError } from '@selftrain/errors';
import { TooFewPseudoLabelsError } from '@selftrain/labeling';
import type { ExperimentTable } from '@selftrain/report';
import { runPipeline, type DriverDeps } from './driver';
import { expandGrid, type ExperimentGrid, type GridCell } from './experiment-grid';
import { cellResult, experimentTables, markdownTable, pretrainingTable, type CellResult } from './experiment-results';
import { resolveGridInits, type PretrainOutcome } from './pretrain';

export interface ExperimentOutcome {
  results: CellResult[];
  pretraining: PretrainOutcome[];
  tables: ExperimentTable[];
  /** Where the results and tables were written in the bucket. */
  keys: { results: string; tables: string };
}

/**
 * Makes the inits the grid asks for, then runs every cell of the grid as a pipeline run (teacher only
 * where no self-training row is asked for), `parallel` at a time: one cell's teacher trains while
 * another's student does, each service taking its jobs in turn. Each run reuses its finished stages, so running the grid again, or a larger
 * grid that contains it, redoes nothing. Results and tables go to experiments/NAME/ in the bucket.
 */
export async function runExperiment(grid: ExperimentGrid, deps: DriverDeps, parallel = 1): Promise<ExperimentOutcome> {
  // Every init checkpoint must exist before hours of training start.
  for (const init of grid.axes.init.filter((i) => i.startsWith('checkpoint:'))) {
    const key = init.slice('checkpoint:'.length);
    if (!(await deps.store.exists(key))) throw new NotFoundError(`axes.init ${init}`, `axes.init ${init}: ${key} is not in bucket ${deps.store.bucket}`);
  }
  const { inits, pretraining } = await resolveGridInits(grid, deps);
  const cells = expandGrid(grid, inits);
  deps.display.note(`experiment ${grid.name}: ${cells.length} runs (${grid.axes.labeled_fraction.length} fractions x ${grid.axes.augment.length} augmentations x ${grid.axes.init.length} inits x ${grid.seeds.length} seeds)`);
  const results = await runCells(cells, deps, Math.max(1, Math.min(parallel, cells.length)));
  const tables = [...experimentTables(grid, results), ...(pretraining.length ? [pretrainingTable(pretraining)] : [])];
  const keys = { results: `experiments/${grid.name}/results.json`, tables: `experiments/${grid.name}/tables.md` };
  await deps.store.putJson(keys.results, { grid, pretraining, results, tables });
  await deps.store.put(keys.tables, Buffer.from(`${tables.map(markdownTable).join('\n\n')}\n`), 'text/markdown');
  return { results, pretraining, tables, keys };
}

/** Cells in order, `parallel` workers; after a failure no new cell starts, the running ones finish. */
async function runCells(cells: GridCell[], deps: DriverDeps, parallel: number): Promise<CellResult[]> {
  const results: CellResult[] = new Array(cells.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < cells.length && failure === undefined) {
      const i = next++;
      const cell = cells[i];
      const tag = `[${i + 1}/${cells.length}] `;
      deps.display.note(`${tag}${cell.spec.name}${cell.selfTraining ? '' : ' (teacher only)'}`);
      const display = parallel > 1 ? deps.display.scoped(tag) : deps.display;
      try {
        results[i] = cellResult(cell, await runPipeline(cell.spec, { ...deps, display, teacherOnly: !cell.selfTraining }));
      } catch (err) {
        // A teacher too unsure to keep any pseudo-label is a finding of the study, not a broken grid: the
        // cell keeps its supervised row (its teacher is reused and scored) and says why it has no student.
        if (!(err instanceof TooFewPseudoLabelsError)) { failure ??= err; continue; }
        display.note(`${cell.spec.name}: no self-training row: ${err.message}`);
        try {
          results[i] = { ...cellResult(cell, await runPipeline(cell.spec, { ...deps, display, teacherOnly: true })), error: err.message };
        } catch (again) {
          failure ??= again;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  if (failure !== undefined) throw failure;
  return results;
}
