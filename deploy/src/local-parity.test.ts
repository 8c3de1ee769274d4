import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceEnvironment } from '@selftrain/pipeline';
import { containersOf, podsOf, resolveEnv } from './pod-view';
import { OVERLAYS } from './render-overlay';
import { rendered } from './testing/rendered-overlays';

/*
 * `selftrain up` / `npm start` start the services with serviceEnvironment() (libs/pipeline local-stack);
 * the manifests set the same names, so the two cannot drift. What only a cluster needs is listed here
 * with the reason; a name that local processes start setting must leave this list.
 */
const CLUSTER_ONLY: Record<string, string> = {
  HEALTH_PORT: 'kubelet probes need the plaintext health-only port',
  METRICS_PORT: 'Prometheus scrapes pods',
  LOG_LEVEL: 'set once for the cluster in selftrain-settings',
  MAX_CONCURRENT_JOBS: 'admission limits pinned per Deployment',
  MAX_INFLIGHT_CALLS: 'admission limits pinned per Deployment',
  SHUTDOWN_GRACE_SECONDS: 'kept below terminationGracePeriodSeconds',
  SELFTRAIN_BACKEND: 'the image variant forces its native backend',
  GRPC_AUTH_TOKEN_FILE: 'the token comes from a mounted Secret',
  GRPC_TLS_CERT_FILE: 'TLS (prod) comes from a mounted Secret',
  GRPC_TLS_KEY_FILE: 'TLS (prod) comes from a mounted Secret',
  GRPC_TLS_CLIENT_CA_FILE: 'TLS (prod) comes from a mounted Secret',
};

test('the variables local service processes get are the ones the manifests set', () => {
  const local = Object.keys(serviceEnvironment({ endPoint: '127.0.0.1', port: 9000, useSSL: false, accessKey: 'a', secretKey: 's', bucket: 'selftrain' })).sort();
  const union = new Set<string>();
  for (const overlay of OVERLAYS) {
    const objects = rendered(overlay);
    for (const cv of containersOf(podsOf(objects)).filter((c) => c.role.kind === 'service')) {
      const names = new Set(resolveEnv(cv, objects, []).map((e) => e.name));
      const missing = local.filter((n) => !names.has(n));
      assert.deepEqual(missing, [], `${overlay} ${cv.pod.ref}: set locally by serviceEnvironment() but not in the manifest`);
      names.forEach((n) => union.add(n));
    }
  }
  const clusterOnly = [...union].filter((n) => !local.includes(n)).sort();
  assert.deepEqual(clusterOnly, Object.keys(CLUSTER_ONLY).sort(),
    'names only the manifests set must be exactly CLUSTER_ONLY (add a new one with its reason; drop one that serviceEnvironment() now sets)');
});
