import { ModelCache } from '@selftrain/checkpoints';
import { labelShard, validateLabelShardRequest } from '@selftrain/labeling';
import type { LabelerServer, LabelShardRequest, LabelShardResponse } from '@selftrain/proto';
import { unary } from '@selftrain/rpc';
import { getInfoHandler, type ServiceDeps, type ServiceParts } from '@selftrain/service-runtime';

/** Labeler: one unlabeled shard per call, teacher checkpoint loaded once and cached. */
export function createLabeler(deps: ServiceDeps): ServiceParts {
  const models = new ModelCache(deps.store);
  const implementation: LabelerServer = {
    labelShard: unary<LabelShardRequest, LabelShardResponse>(deps.scope, 'LabelShard', (request, ctx) =>
      labelShard({ store: deps.store, models, backend: deps.backend.name, logger: ctx.logger }, validateLabelShardRequest(request)),
    ),
    getInfo: getInfoHandler(deps),
  };
  return { implementation };
}
