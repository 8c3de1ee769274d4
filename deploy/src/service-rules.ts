import { DEFAULT_PORTS } from '@selftrain/service-runtime';
import { objectRef, type K8sObject, type Problem } from './manifest';
import { containersOf, envRecord, podsOf, resolveEnv, type ContainerView, type Json } from './pod-view';
import { podsOfService, resolveAddress, splitHostPort, targetPortOn } from './service-address';

/** Default SHUTDOWN_GRACE_SECONDS of a service; the pod's grace period must outlast it. */
const DEFAULT_SHUTDOWN_GRACE_SECONDS = 60;
const DRIVER_ADDRESS_VARS = { SELFTRAIN_TEACHER: 'teacher', SELFTRAIN_STUDENT: 'student', SELFTRAIN_EVALUATOR: 'evaluator', SELFTRAIN_LABELERS: 'labeler' } as const;

/**
 * Ports line up end to end: each service listens where its Service, its probes and the driver expect
 * (GRPC_PORT, default DEFAULT_PORTS; HEALTH_PORT for probes; METRICS_PORT for scraping), every Service
 * selects pods and forwards to a declared port, and the driver's addresses name the right Services.
 */
export function checkServices(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  const pods = podsOf(objects);
  const containers = containersOf(pods);
  for (const svc of objects.filter((o) => o.kind === 'Service')) checkServiceObject(svc, objects, pods, containers, problems);
  for (const cv of containers) {
    if (cv.role.kind === 'service') checkServiceContainer(cv, objects, problems);
    if (cv.role.kind === 'driver') checkDriverAddresses(cv, objects, pods, containers, problems);
  }
  return problems;
}

function checkServiceObject(svc: K8sObject, objects: K8sObject[], pods: ReturnType<typeof podsOf>, containers: ContainerView[], problems: Problem[]): void {
  const ref = objectRef(svc);
  const spec = (svc.spec ?? {}) as Json;
  if (spec.type === 'ExternalName') return;
  const selected = podsOfService(svc, pods);
  if (!spec.selector || Object.keys(spec.selector).length === 0) { problems.push({ object: ref, path: 'spec.selector', message: 'is empty: the Service would have no endpoints' }); return; }
  if (selected.length === 0) { problems.push({ object: ref, path: 'spec.selector', message: `${JSON.stringify(spec.selector)} matches no pod template's labels` }); return; }
  (spec.ports ?? []).forEach((port: Json, i: number) => {
    for (const pod of selected) {
      if (targetPortOn(port, pod, containers).port === undefined) {
        problems.push({ object: ref, path: `spec.ports[${i}].targetPort`, message: `${port.targetPort ?? port.port} is not a container port of ${pod.ref}` });
      }
    }
  });
  const roles = new Set(containers.filter((c) => selected.includes(c.pod) && c.role.kind === 'service').map((c) => (c.role as { service: string }).service));
  for (const service of roles) {
    const grpc = (spec.ports ?? []).findIndex((p: Json) => p.name === 'grpc');
    if (grpc < 0) problems.push({ object: ref, path: 'spec.ports', message: `the ${service} Service needs a port named grpc` });
    else {
      for (const pod of selected) {
        const t = targetPortOn(spec.ports[grpc], pod, containers);
        const listens = t.container ? listenPort(t.container, objects) : undefined;
        if (t.port !== undefined && listens !== undefined && t.port !== listens) {
          problems.push({ object: ref, path: `spec.ports[${grpc}].targetPort`, message: `forwards to ${t.port}, but ${service} listens on GRPC_PORT ${listens}` });
        }
      }
    }
    // The driver resolves the labeler's name to every replica; a ClusterIP would hide all but one.
    if (service === 'labeler' && spec.clusterIP !== 'None') problems.push({ object: ref, path: 'spec.clusterIP', message: 'the labeler Service must be headless (clusterIP: None) so the driver sees every replica' });
  }
}

/** Where a service listens: GRPC_PORT, else its default. */
function listenPort(cv: ContainerView, objects: K8sObject[]): number | undefined {
  if (cv.role.kind !== 'service') return undefined;
  const env = envRecord(resolveEnv(cv, objects, []));
  return env.GRPC_PORT !== undefined ? Number(env.GRPC_PORT) : DEFAULT_PORTS[cv.role.service];
}

function checkServiceContainer(cv: ContainerView, objects: K8sObject[], problems: Problem[]): void {
  if (cv.role.kind !== 'service') return;
  const { pod, c, path } = cv;
  const add = (at: string, message: string) => problems.push({ object: pod.ref, path: at, message });
  const service = cv.role.service;
  const env = envRecord(resolveEnv(cv, objects, []));
  const ports = (c.ports ?? []) as Json[];
  const named = (n: string) => ports.findIndex((p) => p.name === n);
  const envPath = `${path}.env`;

  if (pod.labels['app.kubernetes.io/name'] !== service) add(`${pod.specPath.replace(/\.spec$/, '')}.metadata.labels`, `runs the ${service} service but is labeled app.kubernetes.io/name=${pod.labels['app.kubernetes.io/name'] ?? '(unset)'}`);

  const grpcPort = env.GRPC_PORT !== undefined ? Number(env.GRPC_PORT) : DEFAULT_PORTS[service];
  const gi = named('grpc');
  if (gi < 0) add(`${path}.ports`, `${service} needs a container port named grpc (${grpcPort})`);
  else if (ports[gi].containerPort !== grpcPort) add(`${path}.ports[${gi}].containerPort`, `is ${ports[gi].containerPort}, but ${service} listens on ${grpcPort} (${env.GRPC_PORT !== undefined ? 'GRPC_PORT' : 'DEFAULT_PORTS'})`);

  // Probes cannot speak TLS or carry the token: they go to the plaintext health-only port.
  const healthPort = env.HEALTH_PORT !== undefined ? Number(env.HEALTH_PORT) : undefined;
  if (healthPort === undefined) add(envPath, `HEALTH_PORT must be set: the probes need the plaintext health port (${service})`);
  else {
    const hi = named('health');
    if (hi < 0) add(`${path}.ports`, `needs a container port named health (${healthPort})`);
    else if (ports[hi].containerPort !== healthPort) add(`${path}.ports[${hi}].containerPort`, `is ${ports[hi].containerPort}, but HEALTH_PORT is ${healthPort}`);
  }
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const p = c[probe];
    if (!p) continue;
    if (!p.grpc) add(`${path}.${probe}`, `must be a gRPC probe (grpc: {port: ${healthPort ?? 'HEALTH_PORT'}}) against the health port`);
    else if (healthPort !== undefined && p.grpc.port !== healthPort) add(`${path}.${probe}.grpc.port`, `is ${p.grpc.port}, but HEALTH_PORT is ${healthPort}${p.grpc.port === grpcPort ? ' (the gRPC port may require TLS and a token)' : ''}`);
  }

  const metricsPort = env.METRICS_PORT !== undefined ? Number(env.METRICS_PORT) : undefined;
  const mi = named('metrics');
  if (metricsPort !== undefined && mi >= 0 && ports[mi].containerPort !== metricsPort) add(`${path}.ports[${mi}].containerPort`, `is ${ports[mi].containerPort}, but METRICS_PORT is ${metricsPort}`);
  if (pod.annotations['prometheus.io/scrape'] === 'true') {
    const annotated = Number(pod.annotations['prometheus.io/port']);
    const at = `${pod.specPath.replace(/\.spec$/, '')}.metadata.annotations`;
    if (metricsPort === undefined) add(envPath, 'METRICS_PORT must be set: the pod is annotated for Prometheus scraping');
    else if (annotated !== metricsPort) add(`${at}.prometheus.io/port`, `is ${pod.annotations['prometheus.io/port']}, but METRICS_PORT is ${metricsPort}`);
  }

  const grace = Number(env.SHUTDOWN_GRACE_SECONDS ?? DEFAULT_SHUTDOWN_GRACE_SECONDS);
  const termination = pod.spec.terminationGracePeriodSeconds ?? 30;
  if (!(termination > grace)) add(`${pod.specPath}.terminationGracePeriodSeconds`, `is ${termination}, not above SHUTDOWN_GRACE_SECONDS ${grace}: running jobs would be killed before they checkpoint`);
}

function checkDriverAddresses(cv: ContainerView, objects: K8sObject[], pods: ReturnType<typeof podsOf>, containers: ContainerView[], problems: Problem[]): void {
  const entries = resolveEnv(cv, objects, []);
  const env = envRecord(entries);
  for (const [name, service] of Object.entries(DRIVER_ADDRESS_VARS)) {
    const value = env[name];
    if (value === undefined) continue; // required-variable rules report it
    const at = entries.find((e) => e.name === name)?.path ?? `${cv.path}.env`;
    const add = (message: string) => problems.push({ object: cv.pod.ref, path: at, message: `${name}=${value}: ${message}` });
    for (const address of value.split(',').map((a) => a.trim()).filter(Boolean)) {
      if (!splitHostPort(address)) { add(`"${address}" is not host:port`); continue; }
      const r = resolveAddress(objects, pods, containers, address, cv.pod.namespace);
      if (!r) { add(`no Service named ${splitHostPort(address)!.host} in the rendered manifests`); continue; }
      if (!((r.service.spec as Json)?.ports ?? []).some((p: Json) => p.port === splitHostPort(address)!.port)) { add(`Service/${r.service.metadata.name} has no port ${splitHostPort(address)!.port}`); continue; }
      const reaches = r.targets.length > 0 && r.targets.every((t) => t.container?.role.kind === 'service'
        && t.container.role.service === service && t.port !== undefined && t.port === listenPort(t.container, objects));
      if (!reaches) add(`Service/${r.service.metadata.name} port ${splitHostPort(address)!.port} does not reach the ${service} service's gRPC port`);
      if (service === 'labeler' && (r.service.spec as Json)?.clusterIP !== 'None') add(`Service/${r.service.metadata.name} is not headless, so the driver would see one labeler`);
    }
  }
}
