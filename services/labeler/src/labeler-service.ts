import { ModelCache } from '@selftrain/checkpoints';
import { classificationEngine } from '@selftrain/compute';
import { OnnxCheckpointCache, TeacherModelCache } from '@selftrain/export';
import { labelShard, sharedLabelerParts, validateLabelShardRequest } from '@selftrain/labeling';
import type { LabelerServer, LabelShardRequest, LabelShardResponse } from '@selftrain/proto';
import { unary } from '@selftrain/rpc';
import { getInfoHandler, type ServiceDeps, type ServiceParts } from '@selftrain/service-runtime';

/** Labeler: one unlabeled shard per call, teacher checkpoint loaded once and cached. */
export function createLabeler(deps: ServiceDeps): ServiceParts {
  const models = new ModelCache(deps.store);
  const teacherModels = new TeacherModelCache(deps.store);
  const checkpointSessions = classificationEngine(deps.config.inferenceEngine, deps.backend) === 'onnxruntime' ? new OnnxCheckpointCache(deps.store, { logger: deps.logger }) : undefined;
  const shared = sharedLabelerParts();
  const implementation: LabelerServer = {
    labelShard: unary<LabelShardRequest, LabelShardResponse>(deps.scope, 'LabelShard', async (request, ctx) => {
      const started = Date.now();
      const res = await labelShard({ store: deps.store, models, teacherModels, checkpointSessions, backend: deps.backend.name, logger: ctx.logger, ...shared }, validateLabelShardRequest(request));
      // A reused shard cost nothing: only fresh work counts as throughput.
      if (!res.reused && res.labelStats) {
        deps.metrics.imagesProcessed('label', res.labelStats.records, (Date.now() - started) / 1000);
        deps.metrics.pseudoLabels(res.labelStats.kept, res.labelStats.dropped);
      }
      return res;
    }),
    getInfo: getInfoHandler(deps),
  };
  return { implementation };
}
