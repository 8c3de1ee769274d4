import { taskOf } from '@selftrain/data';
import type { JobRegistry, JobWork } from '@selftrain/jobs';
import type { DatasetManifest, StartJobResponse } from '@selftrain/proto';
import { shapeOf } from './dataset-examples';
import { modelFootprint, TrainingMemory, WASM_HEAP_LIMIT_BYTES } from './training-memory';
import type { TrainingRequest } from './validate-requests';

/** A training service's memory: its budget, and wasm's per-heap limit when it computes on wasm. */
export function trainingMemoryFor(backend: string, budget: { bytes: number; source: string }): TrainingMemory {
  return new TrainingMemory({ budgetBytes: budget.bytes, budgetSource: budget.source, heapLimitBytes: backend === 'wasm' ? WASM_HEAP_LIMIT_BYTES : undefined });
}

/**
 * Starts a training job once its memory estimate fits the process (see TrainingMemory): refused before
 * anything is allocated when it cannot, and the memory is held while the job runs. A Start of a job this
 * process already runs changes nothing and reserves nothing.
 */
export async function startTrainingJob(
  jobs: JobRegistry, memory: TrainingMemory, req: TrainingRequest, manifest: DatasetManifest,
  deps: { backend: { name: string }; trainThreads?: number }, requestDigest: string, work: JobWork,
): Promise<StartJobResponse> {
  const shape = shapeOf(manifest);
  // Images of differing sizes (height/width 0) have no one model input to measure; nothing trains on them.
  if (jobs.runsHere(req.jobId) || !(shape.height > 0 && shape.width > 0)) return jobs.start(req.jobId, requestDigest, work);
  const task = taskOf(manifest);
  const footprint = await modelFootprint(req.options, shape, manifest.classNames.length, task);
  const reservation = memory.reserve(footprint, req.options, task, deps.backend.name, deps.trainThreads ?? 1);
  try {
    const started = await jobs.start(req.jobId, requestDigest, async (ctx) => {
      try {
        return await work(ctx);
      } finally {
        reservation.release();
      }
    });
    if (!started.created) reservation.release();
    return started;
  } catch (err) {
    reservation.release();
    throw err;
  }
}
