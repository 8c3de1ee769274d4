import { ModelCache } from '@selftrain/checkpoints';
import { evaluateCheckpoint, validateEvaluateRequest } from '@selftrain/evaluation';
import type { EvaluateRequest, EvaluateResponse, EvaluatorServer } from '@selftrain/proto';
import { unary } from '@selftrain/rpc';
import { getInfoHandler, type ServiceDeps, type ServiceParts } from '@selftrain/service-runtime';

/** Evaluator: scores any checkpoint on a labeled split. */
export function createEvaluator(deps: ServiceDeps): ServiceParts {
  const models = new ModelCache(deps.store);
  const implementation: EvaluatorServer = {
    evaluate: unary<EvaluateRequest, EvaluateResponse>(deps.scope, 'Evaluate', (request) =>
      evaluateCheckpoint({ store: deps.store, models, backend: deps.backend.name }, validateEvaluateRequest(request)),
    ),
    getInfo: getInfoHandler(deps),
  };
  return { implementation };
}
