import { checkEnvironment } from './env-rules';
import type { K8sObject, Problem } from './manifest';
import { checkMetadata } from './metadata-rules';
import { checkNetworkPolicies } from './network-rules';
import { checkSchemas } from './schema-check';
import { checkServices } from './service-rules';
import { checkWorkloads } from './workload-rules';

/** Every check on a rendered overlay: the Kubernetes schemas (unknown fields too) and the project's rules. */
export async function checkManifests(objects: K8sObject[]): Promise<Problem[]> {
  return [
    ...(await checkSchemas(objects)),
    ...checkMetadata(objects),
    ...checkWorkloads(objects),
    ...checkServices(objects),
    ...checkEnvironment(objects),
    ...checkNetworkPolicies(objects),
  ];
}
