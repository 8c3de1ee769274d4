import { ModelCache } from '@selftrain/checkpoints';
import { classificationEngine } from '@selftrain/compute';
import { OnnxCheckpointCache, TeacherModelCache } from '@selftrain/export';
import { evaluateCheckpoint, validateEvaluateRequest } from '@selftrain/evaluation';
import type { EvaluateRequest, EvaluateResponse, EvaluatorServer } from '@selftrain/proto';
import { unary } from '@selftrain/rpc';
import { getInfoHandler, type ServiceDeps, type ServiceParts } from '@selftrain/service-runtime';

/** Evaluator: scores any checkpoint on a labeled split. */
export function createEvaluator(deps: ServiceDeps): ServiceParts {
  const models = new ModelCache(deps.store);
  const teacherModels = new TeacherModelCache(deps.store);
  const checkpointSessions = classificationEngine(deps.config.inferenceEngine, deps.backend) === 'onnxruntime' ? new OnnxCheckpointCache(deps.store, { logger: deps.logger }) : undefined;
  const implementation: EvaluatorServer = {
    evaluate: unary<EvaluateRequest, EvaluateResponse>(deps.scope, 'Evaluate', async (request) => {
      const started = Date.now();
      const res = await evaluateCheckpoint({ store: deps.store, models, teacherModels, checkpointSessions, backend: deps.backend.name }, validateEvaluateRequest(request));
      deps.metrics.imagesProcessed('evaluate', res.count, (Date.now() - started) / 1000);
      return res;
    }),
    getInfo: getInfoHandler(deps),
  };
  return { implementation };
}
