import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkManifests } from './check-manifests';
import { formatProblem, type K8sObject } from './manifest';
import type { Json } from './pod-view';
import { container, envVar, get, rendered } from './testing/rendered-overlays';

/* Each test breaks one thing in a rendered overlay, in memory, and expects the checks to name the object
   and the field. The untouched renders are clean (overlays.test.ts), so every problem comes from the break. */

async function problemsAfter(overlay: string, breakIt: (objects: K8sObject[]) => void): Promise<string[]> {
  const objects = rendered(overlay);
  breakIt(objects);
  return (await checkManifests(objects)).map(formatProblem);
}

function expectProblem(problems: string[], ...patterns: RegExp[]): void {
  for (const p of patterns) assert.ok(problems.some((line) => p.test(line)), `expected a problem matching ${p}, got:\n${problems.join('\n') || '(none)'}`);
}

const C0 = 'spec\\.template\\.spec\\.containers\\[0\\]';

test('a wrong container port: the Service, the listener and the driver no longer line up', async () => {
  const problems = await problemsAfter('dev', (o) => { container(o, 'Deployment', 'teacher').ports[0].containerPort = 50055; });
  expectProblem(problems,
    new RegExp(`^Deployment/teacher ${C0}\\.ports\\[0\\]\\.containerPort: is 50055, but teacher listens on 50051 \\(GRPC_PORT\\)`),
    /^Service\/teacher spec\.ports\[0\]\.targetPort: forwards to 50055, but teacher listens on GRPC_PORT 50051/,
    /^Job\/selftrain-pipeline .*\.env\[\d+\]: SELFTRAIN_TEACHER=teacher:50051: Service\/teacher port 50051 does not reach the teacher service's gRPC port/);
});

test('a wrong Service port: the driver address names a port the Service does not have', async () => {
  const problems = await problemsAfter('dev', (o) => { get(o, 'Service', 'evaluator').spec.ports[0].port = 50064; });
  expectProblem(problems, /^Job\/selftrain-pipeline .*\.env\[\d+\]: SELFTRAIN_EVALUATOR=evaluator:50054: Service\/evaluator has no port 50054/);
});

test('a GRPC_PORT that disagrees with the declared ports', async () => {
  const problems = await problemsAfter('cpu', (o) => { envVar(container(o, 'Deployment', 'student'), 'GRPC_PORT')!.value = '50059'; });
  expectProblem(problems, new RegExp(`^Deployment/student ${C0}\\.ports\\[0\\]\\.containerPort: is 50053, but student listens on 50059`));
});

test('a probe on the wrong port, and a probe that is not gRPC', async () => {
  const problems = await problemsAfter('prod', (o) => {
    container(o, 'Deployment', 'labeler').readinessProbe.grpc.port = 50052;
    container(o, 'Deployment', 'teacher').livenessProbe = { tcpSocket: { port: 8081 } };
  });
  expectProblem(problems,
    new RegExp(`^Deployment/labeler ${C0}\\.readinessProbe\\.grpc\\.port: is 50052, but HEALTH_PORT is 8081 \\(the gRPC port may require TLS and a token\\)`),
    new RegExp(`^Deployment/teacher ${C0}\\.livenessProbe: must be a gRPC probe`));
});

test('a missing probe', async () => {
  const problems = await problemsAfter('dev', (o) => { delete container(o, 'Deployment', 'evaluator').livenessProbe; delete container(o, 'StatefulSet', 'minio').readinessProbe; });
  expectProblem(problems,
    new RegExp(`^Deployment/evaluator ${C0}\\.livenessProbe: container "evaluator" has no livenessProbe`),
    new RegExp(`^StatefulSet/minio ${C0}\\.readinessProbe: container "minio" has no readinessProbe`));
});

test('unknown fields anywhere (the schema validators alone would pass them), and a wrong type', async () => {
  const problems = await problemsAfter('dev', (o) => {
    const c = container(o, 'Deployment', 'teacher');
    c.resource = c.resources; // typo for resources
    delete c.resources;
    get(o, 'Service', 'labeler').spec.clusterIp = 'None';
    get(o, 'NetworkPolicy', 'default-deny').spec.podSelectors = {};
    container(o, 'Deployment', 'student').ports[1].containerPort = '8081';
  });
  expectProblem(problems,
    new RegExp(`^Deployment/teacher ${C0}\\.resource: unknown field "resource" \\(not in the apps/v1 Deployment schema\\)`),
    new RegExp(`^Deployment/teacher ${C0}\\.resources\\.requests\\.cpu: container "teacher" must set resources\\.requests\\.cpu`),
    /^Service\/labeler spec\.clusterIp: unknown field "clusterIp"/,
    /^NetworkPolicy\/default-deny spec\.podSelectors: unknown field/,
    new RegExp(`^Deployment/student ${C0}\\.ports\\[1\\]\\.containerPort: must be integer \\(apps/v1 Deployment schema\\)`));
});

test('a missing required env var, a misspelt one, a local-only one, and a bad value', async () => {
  const problems = await problemsAfter('dev', (o) => {
    const student = container(o, 'Deployment', 'student');
    student.env = student.env.filter((e: Json) => e.name !== 'S3_SECRET_KEY');
    envVar(container(o, 'Deployment', 'teacher'), 'GRPC_PORT')!.name = 'GRPC_PROT';
    container(o, 'Deployment', 'labeler').env.push({ name: 'PORT_FILE', value: '/tmp/port' });
    get(o, 'ConfigMap', 'selftrain-settings').data.LOG_LEVEL = 'loud';
    const driver = container(o, 'Job', 'selftrain-pipeline');
    driver.env = driver.env.filter((e: Json) => e.name !== 'SELFTRAIN_LABELERS');
  });
  expectProblem(problems,
    new RegExp(`^Deployment/student ${C0}\\.env: S3_SECRET_KEY is required by the student service but not set`),
    new RegExp(`^Deployment/teacher ${C0}\\.env\\[\\d+\\]: GRPC_PROT \\(from value\\) is not a variable the teacher service reads \\(did you mean GRPC_PORT\\?\\)`),
    new RegExp(`^Deployment/labeler ${C0}\\.env\\[\\d+\\]: PORT_FILE is for local processes only`),
    new RegExp(`^Deployment/evaluator ${C0}\\.envFrom\\[0\\]: the evaluator service rejects this at start: LOG_LEVEL`),
    new RegExp(`^Job/selftrain-pipeline ${C0}\\.env: SELFTRAIN_LABELERS is required by the driver`));
});

test('a Secret key typo, a token file that is not mounted, and half a TLS pair', async () => {
  const problems = await problemsAfter('prod', (o) => {
    envVar(container(o, 'Deployment', 'teacher'), 'S3_ACCESS_KEY')!.valueFrom.secretKeyRef.key = 'accesskey';
    const labeler = container(o, 'Deployment', 'labeler');
    labeler.volumeMounts = labeler.volumeMounts.filter((m: Json) => m.name !== 'grpc-token');
    const evaluator = container(o, 'Deployment', 'evaluator');
    evaluator.env = evaluator.env.filter((e: Json) => e.name !== 'GRPC_TLS_KEY_FILE');
  });
  expectProblem(problems,
    new RegExp(`^Deployment/teacher ${C0}\\.env\\[\\d+\\]\\.valueFrom: S3_ACCESS_KEY reads key "accesskey" of Secret "selftrain-s3", which has only`),
    new RegExp(`^Deployment/labeler ${C0}\\.env\\[\\d+\\]: GRPC_AUTH_TOKEN_FILE=/etc/selftrain/token/token is not a file of any Secret or ConfigMap mounted`),
    /^Deployment\/evaluator .*: the evaluator service rejects this at start: GRPC_TLS_KEY_FILE: /);
});

test('an image on latest, or with no tag at all', async () => {
  const problems = await problemsAfter('dev', (o) => {
    container(o, 'Deployment', 'teacher').image = 'selftrain:latest';
    container(o, 'StatefulSet', 'minio').image = 'docker.io/minio/minio';
  });
  expectProblem(problems,
    new RegExp(`^Deployment/teacher ${C0}\\.image: "selftrain:latest" uses the tag latest`),
    new RegExp(`^StatefulSet/minio ${C0}\\.image: "docker\\.io/minio/minio" is not pinned`));
});

test('a security context that is not locked down', async () => {
  const problems = await problemsAfter('cpu', (o) => {
    const c = container(o, 'Deployment', 'labeler');
    c.securityContext.runAsUser = 0;
    c.securityContext.readOnlyRootFilesystem = false;
    c.securityContext.capabilities = { drop: ['NET_RAW'] };
    delete c.securityContext.allowPrivilegeEscalation;
    get(o, 'Deployment', 'evaluator').spec.template.spec.automountServiceAccountToken = true;
    get(o, 'ServiceAccount', 'evaluator').automountServiceAccountToken = true;
  });
  expectProblem(problems,
    new RegExp(`^Deployment/labeler ${C0}\\.securityContext\\.runAsUser: container "labeler" must run as user 10001`),
    new RegExp(`^Deployment/labeler ${C0}\\.securityContext\\.readOnlyRootFilesystem`),
    new RegExp(`^Deployment/labeler ${C0}\\.securityContext\\.capabilities\\.drop: container "labeler" must drop ALL`),
    new RegExp(`^Deployment/labeler ${C0}\\.securityContext\\.allowPrivilegeEscalation`),
    /^Deployment\/evaluator spec\.template\.spec\.automountServiceAccountToken: must be false/);
});

test('missing resources, a request above its limit, a GPU request that differs from its limit', async () => {
  const problems = await problemsAfter('gpu', (o) => {
    delete container(o, 'Deployment', 'evaluator').resources.limits.memory;
    container(o, 'Deployment', 'labeler').resources.requests.cpu = '3';
    container(o, 'Deployment', 'teacher').resources.requests['nvidia.com/gpu'] = 2;
  });
  expectProblem(problems,
    new RegExp(`^Deployment/evaluator ${C0}\\.resources\\.limits\\.memory: container "evaluator" must set resources\\.limits\\.memory`),
    new RegExp(`^Deployment/labeler ${C0}\\.resources\\.requests\\.cpu: request 3 is above the limit 2`),
    new RegExp(`^Deployment/teacher ${C0}\\.resources\\.requests\\.nvidia\\.com/gpu: nvidia\\.com/gpu request 2 must equal its limit 1`));
});

test('selectors that select nothing: Deployment, Service, PodDisruptionBudget', async () => {
  const problems = await problemsAfter('dev', (o) => {
    get(o, 'Deployment', 'teacher').spec.selector.matchLabels['app.kubernetes.io/name'] = 'teachr';
    get(o, 'Service', 'labeler').spec.selector['app.kubernetes.io/name'] = 'labeller';
    get(o, 'PodDisruptionBudget', 'student').spec.selector.matchLabels['app.kubernetes.io/name'] = 'studnet';
  });
  expectProblem(problems,
    /^Deployment\/teacher spec\.selector: .*"teachr".* does not match the pod template labels/,
    /^Service\/labeler spec\.selector: .*"labeller".* matches no pod template's labels/,
    /^PodDisruptionBudget\/student spec\.selector: .* selects no pod template/,
    /^Deployment\/student metadata\.name: no PodDisruptionBudget selects its pods/);
});

test('the labeler Service with a cluster IP: the driver would see one replica', async () => {
  const problems = await problemsAfter('dev', (o) => { delete get(o, 'Service', 'labeler').spec.clusterIP; });
  expectProblem(problems,
    /^Service\/labeler spec\.clusterIP: the labeler Service must be headless/,
    /^Job\/selftrain-pipeline .*SELFTRAIN_LABELERS=labeler:50052: Service\/labeler is not headless/);
});

test('a grace period shorter than the shutdown grace: jobs are killed before they checkpoint', async () => {
  const problems = await problemsAfter('dev', (o) => { get(o, 'Deployment', 'student').spec.template.spec.terminationGracePeriodSeconds = 30; });
  expectProblem(problems, /^Deployment\/student spec\.template\.spec\.terminationGracePeriodSeconds: is 30, not above SHUTDOWN_GRACE_SECONDS 60/);
});

test('NetworkPolicy: a label typo blocks the driver; a rule without a peer lets every pod in', async () => {
  const typo = await problemsAfter('dev', (o) => { get(o, 'NetworkPolicy', 'grpc-services-ingress').spec.ingress[0].from[0].podSelector.matchLabels['app.kubernetes.io/component'] = 'drivr'; });
  expectProblem(typo,
    /^NetworkPolicy\/grpc-services-ingress spec\.ingress\[0\]\.from\[0\]\.podSelector: .* selects no pod/,
    /^Deployment\/teacher NetworkPolicy: the driver's SELFTRAIN_TEACHER=teacher:50051: Job\/selftrain-pipeline -> Deployment\/teacher TCP 50051 is blocked on ingress/);
  const open = await problemsAfter('dev', (o) => { delete get(o, 'NetworkPolicy', 'grpc-services-ingress').spec.ingress[0].from; });
  expectProblem(open, /^Deployment\/labeler NetworkPolicy: only the driver may call grpc: another pod in selftrain -> Deployment\/labeler TCP 50052 must be denied but is allowed/);
});

test('NetworkPolicy: no DNS, no S3, no scraping, no default deny', async () => {
  const problems = await problemsAfter('dev', (o) => {
    const i = o.findIndex((x) => x.kind === 'NetworkPolicy' && x.metadata.name === 'allow-dns');
    o.splice(i, 1);
    get(o, 'NetworkPolicy', 's3-egress-minio').spec.egress[0].ports[0].port = 9001;
    get(o, 'NetworkPolicy', 'grpc-services-ingress').spec.ingress[2].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'] = 'observability';
    get(o, 'NetworkPolicy', 'default-deny').spec.policyTypes = ['Ingress'];
  });
  expectProblem(problems,
    /^Deployment\/teacher NetworkPolicy: DNS lookups: .* UDP 53 is blocked on egress/,
    /^Job\/selftrain-pipeline NetworkPolicy: S3 \(http:\/\/minio:9000\) from selftrain: .* -> StatefulSet\/minio TCP 9000 is blocked on egress/,
    /^Deployment\/evaluator NetworkPolicy: Prometheus scraping: Prometheus \(monitoring\) -> Deployment\/evaluator TCP 9090 is blocked on ingress/,
    /^Namespace\/selftrain NetworkPolicy: needs a default-deny NetworkPolicy/);
});

test('an object outside the namespace, a placeholder Secret without its label', async () => {
  const problems = await problemsAfter('prod', (o) => {
    delete get(o, 'Secret', 'selftrain-grpc-tls').metadata.namespace;
    delete get(o, 'Secret', 'selftrain-s3').metadata.labels['selftrain.dev/placeholder'];
  });
  expectProblem(problems,
    /^Secret\/selftrain-grpc-tls metadata\.namespace: must be selftrain, got \(unset: the default namespace\)/,
    /^Secret\/selftrain-s3 metadata\.labels\.selftrain\.dev\/placeholder: holds placeholder values \(access-key, secret-key\)/);
});

test('a driver Job that retries, and an autoscaled Deployment with a fixed replica count', async () => {
  const problems = await problemsAfter('cpu', (o) => {
    get(o, 'Job', 'selftrain-pipeline').spec.backoffLimit = 3;
    get(o, 'Deployment', 'labeler').spec.replicas = 3;
  });
  expectProblem(problems,
    /^Job\/selftrain-pipeline spec\.backoffLimit: must be 0 for the pipeline driver, got 3/,
    /^Deployment\/labeler spec\.replicas: is set, but HorizontalPodAutoscaler\/labeler owns the replica count/);
});

test('the token template is refused by the services themselves, so a forgotten placeholder cannot go live', async () => {
  // Unlabeled, the template is checked like a real value, and the service's own validation rejects it.
  const problems = await problemsAfter('cpu', (o) => { delete get(o, 'Secret', 'selftrain-grpc-token').metadata.labels['selftrain.dev/placeholder']; });
  expectProblem(problems,
    /^Secret\/selftrain-grpc-token metadata\.labels\.selftrain\.dev\/placeholder: holds placeholder values \(token\)/,
    new RegExp(`^Deployment/teacher ${C0}\\.env\\[\\d+\\]: the teacher service rejects this at start: GRPC_AUTH_TOKEN_FILE: the token must be printable ASCII without spaces`),
    new RegExp(`^Job/selftrain-pipeline ${C0}\\.env\\[\\d+\\]: the driver \\(selftrain run\\) rejects this at start: GRPC_AUTH_TOKEN_FILE`));
});
