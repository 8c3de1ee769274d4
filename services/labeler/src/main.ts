import { LabelerService } from '@selftrain/proto';
import { runService } from '@selftrain/service-runtime';
import { createLabeler } from './labeler-service';

void runService({ name: 'labeler', serviceName: 'selftrain.v1.Labeler', definition: LabelerService, purpose: 'infer', create: createLabeler });
