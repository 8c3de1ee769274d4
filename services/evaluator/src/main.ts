import { EvaluatorService } from '@selftrain/proto';
import { runService } from '@selftrain/service-runtime';
import { createEvaluator } from './evaluator-service';

void runService({ name: 'evaluator', serviceName: 'selftrain.v1.Evaluator', definition: EvaluatorService, purpose: 'infer', create: createEvaluator });
