import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkManifests } from './check-manifests';
import { formatProblems } from './manifest';
import { placeholderSecrets, PLACEHOLDER_LABEL } from './metadata-rules';
import { OVERLAYS } from './render-overlay';
import { SELFTRAIN_SERVICES, type Json } from './pod-view';
import { container, envVar, get, rendered } from './testing/rendered-overlays';

for (const overlay of OVERLAYS) {
  test(`${overlay}: kubectl kustomize renders it, and it passes the schemas and every rule`, async () => {
    const objects = rendered(overlay);
    const problems = await checkManifests(objects);
    assert.equal(formatProblems(problems), '', `${problems.length} problem(s) in overlays/${overlay}`);
    for (const s of SELFTRAIN_SERVICES) {
      for (const kind of ['ServiceAccount', 'Service', 'Deployment', 'PodDisruptionBudget']) get(objects, kind, s);
    }
    assert.equal(get(objects, 'Service', 'labeler').spec.clusterIP, 'None');
    const job = get(objects, 'Job', 'selftrain-pipeline');
    assert.equal(job.spec.backoffLimit, 0);
    assert.deepEqual(job.spec.template.spec.containers[0].command, ['node', 'tools/cli/dist/cli.js', 'run', '/etc/selftrain/spec/spec.yaml']);
    // Only Secrets carry the placeholder label, so `-l 'selftrain.dev/placeholder!=true'` leaves out nothing else.
    assert.deepEqual(objects.filter((o) => o.metadata.labels?.[PLACEHOLDER_LABEL]).map((o) => o.kind).filter((k) => k !== 'Secret'), []);
  });
}

test('dev: MinIO on a PVC with a pinned image, a bucket Job, working credentials, two labelers scaled by hand', () => {
  const objects = rendered('dev');
  const minio = get(objects, 'StatefulSet', 'minio');
  assert.match(minio.spec.template.spec.containers[0].image, /^docker\.io\/minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z$/);
  assert.equal(minio.spec.volumeClaimTemplates[0].metadata.name, 'data');
  assert.ok(minio.spec.template.spec.containers[0].volumeMounts.some((m: Json) => m.name === 'data' && m.mountPath === '/data'));
  get(objects, 'Service', 'minio');
  assert.match(container(objects, 'Job', 'minio-bucket').image, /^docker\.io\/minio\/mc:RELEASE\./);
  assert.deepEqual(placeholderSecrets(objects), [], 'dev must work as applied');
  assert.equal(get(objects, 'Secret', 'selftrain-s3').stringData.endpoint, 'http://minio:9000');
  assert.equal(objects.some((o) => o.kind === 'HorizontalPodAutoscaler'), false, 'kubectl scale decides in dev');
  assert.equal(get(objects, 'Deployment', 'labeler').spec.replicas, 2);
  assert.equal(container(objects, 'Deployment', 'teacher').image, 'selftrain:0.1.0-cpu');
});

test('cpu: the cpu image on wasm (its native kernels), the labeler autoscaled (autoscaling/v2)', () => {
  const objects = rendered('cpu');
  for (const s of SELFTRAIN_SERVICES) {
    const c = container(objects, 'Deployment', s);
    assert.match(c.image, /:0\.1\.0-cpu$/);
    assert.equal(envVar(c, 'SELFTRAIN_BACKEND')?.value, 'wasm', s);
    assert.equal(c.resources.limits['nvidia.com/gpu'], undefined);
  }
  const hpa = get(objects, 'HorizontalPodAutoscaler', 'labeler');
  assert.equal(hpa.apiVersion, 'autoscaling/v2');
  assert.equal(hpa.spec.scaleTargetRef.name, 'labeler');
  assert.equal(get(objects, 'Deployment', 'labeler').spec.replicas, undefined, 'the HPA owns the count');
});

test('gpu: teacher and student take one NVIDIA GPU on GPU nodes; labeler and evaluator take none', () => {
  const objects = rendered('gpu');
  for (const s of ['teacher', 'student']) {
    const pod = get(objects, 'Deployment', s).spec.template.spec;
    const c = pod.containers[0];
    assert.match(c.image, /:0\.1\.0-gpu$/);
    assert.equal(c.resources.requests['nvidia.com/gpu'], 1);
    assert.equal(c.resources.limits['nvidia.com/gpu'], 1);
    assert.equal(envVar(c, 'SELFTRAIN_BACKEND')?.value, 'tfjs-node-gpu');
    assert.equal(pod.nodeSelector['nvidia.com/gpu.present'], 'true');
    assert.ok(pod.tolerations.some((t: Json) => t.key === 'nvidia.com/gpu' && t.operator === 'Exists' && t.effect === 'NoSchedule'));
    assert.equal(get(objects, 'Deployment', s).spec.strategy.type, 'Recreate', 'a rolling update would need a second GPU');
  }
  for (const s of ['labeler', 'evaluator']) {
    const pod = get(objects, 'Deployment', s).spec.template.spec;
    assert.equal(pod.containers[0].resources.limits['nvidia.com/gpu'], undefined);
    assert.equal(pod.nodeSelector, undefined);
  }
});

test('prod: mutual TLS everywhere, S3 endpoint and keys from the selftrain-s3 Secret, every credential a placeholder to replace', () => {
  const objects = rendered('prod');
  for (const s of SELFTRAIN_SERVICES) {
    const c = container(objects, 'Deployment', s);
    assert.equal(envVar(c, 'GRPC_TLS_CERT_FILE')?.value, '/etc/selftrain/tls/tls.crt', s);
    assert.equal(envVar(c, 'GRPC_TLS_KEY_FILE')?.value, '/etc/selftrain/tls/tls.key', s);
    assert.equal(envVar(c, 'GRPC_TLS_CLIENT_CA_FILE')?.value, '/etc/selftrain/tls/ca.crt', s);
    assert.deepEqual(envVar(c, 'S3_ENDPOINT')?.valueFrom, { secretKeyRef: { name: 'selftrain-s3', key: 'endpoint' } });
  }
  const driver = container(objects, 'Job', 'selftrain-pipeline');
  assert.equal(envVar(driver, 'GRPC_TLS_CA_FILE')?.value, '/etc/selftrain/tls/ca.crt');
  assert.equal(envVar(driver, 'GRPC_TLS_CERT_FILE')?.value, '/etc/selftrain/tls/tls.crt');
  assert.ok(get(objects, 'Job', 'selftrain-pipeline').spec.template.spec.volumes.some((v: Json) => v.secret?.secretName === 'selftrain-grpc-client-tls'));
  assert.match(get(objects, 'Secret', 'selftrain-s3').stringData.endpoint, /^https:\/\//);
  assert.deepEqual(placeholderSecrets(objects).map((o) => o.metadata.name).sort(),
    ['selftrain-grpc-client-tls', 'selftrain-grpc-tls', 'selftrain-grpc-token', 'selftrain-s3']);
  const hpa = get(objects, 'HorizontalPodAutoscaler', 'labeler');
  assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [4, 32]);
});
