import { NotFoundError } from '@selftrain/errors';
import type { ExperimentTable } from '@selftrain/report';
import { runPipeline, type DriverDeps } from './driver';
import { expandGrid, type ExperimentGrid } from './experiment-grid';
import { cellResult, experimentTables, markdownTable, type CellResult } from './experiment-results';

export interface ExperimentOutcome {
  results: CellResult[];
  tables: ExperimentTable[];
  /** Where the results and tables were written in the bucket. */
  keys: { results: string; tables: string };
}

/**
 * Runs every cell of the grid as a pipeline run (teacher only where no self-training row is asked
 * for), one after another. Each run reuses its finished stages, so running the grid again, or a larger
 * grid that contains it, redoes nothing. Results and tables go to experiments/NAME/ in the bucket.
 */
export async function runExperiment(grid: ExperimentGrid, deps: DriverDeps): Promise<ExperimentOutcome> {
  const cells = expandGrid(grid);
  // Every init checkpoint must exist before hours of training start.
  for (const init of grid.axes.init.filter((i) => i !== 'random')) {
    const key = init.slice('checkpoint:'.length);
    if (!(await deps.store.exists(key))) throw new NotFoundError(`axes.init ${init}`, `axes.init ${init}: ${key} is not in bucket ${deps.store.bucket}`);
  }
  deps.display.note(`experiment ${grid.name}: ${cells.length} runs (${grid.axes.labeled_fraction.length} fractions x ${grid.axes.augment.length} augmentations x ${grid.axes.init.length} inits x ${grid.seeds.length} seeds)`);
  const results: CellResult[] = [];
  for (const [i, cell] of cells.entries()) {
    deps.display.note(`[${i + 1}/${cells.length}] ${cell.spec.name}${cell.selfTraining ? '' : ' (teacher only)'}`);
    const record = await runPipeline(cell.spec, { ...deps, teacherOnly: !cell.selfTraining });
    results.push(cellResult(cell, record));
  }
  const tables = experimentTables(grid, results);
  const keys = { results: `experiments/${grid.name}/results.json`, tables: `experiments/${grid.name}/tables.md` };
  await deps.store.putJson(keys.results, { grid, results, tables });
  await deps.store.put(keys.tables, Buffer.from(`${tables.map(markdownTable).join('\n\n')}\n`), 'text/markdown');
  return { results, tables, keys };
}
