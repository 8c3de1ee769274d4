import { isEmptySelector, selectorMatches, type K8sObject } from './manifest';
import type { ContainerView, Json, PodView } from './pod-view';

/** A host:port as a client in `namespace` would reach it: the Service, the pods behind it, the pod port. */
export interface ResolvedAddress {
  service: K8sObject;
  servicePort: Json;
  /** Each selected pod with the container port number the Service forwards to (undefined: none matches). */
  targets: { pod: PodView; port?: number; container?: ContainerView }[];
}

export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^([^:/\s]+):(\d+)$/.exec(address.trim());
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

/** The Service a DNS name means inside the cluster: NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local. */
export function serviceForHost(objects: K8sObject[], host: string, namespace: string): K8sObject | undefined {
  const [name, ns = namespace, svc, ...rest] = host.split('.');
  if (svc !== undefined && svc !== 'svc') return undefined;
  if (rest.length && rest.join('.') !== 'cluster.local') return undefined;
  return objects.find((o) => o.kind === 'Service' && o.metadata.name === name && (o.metadata.namespace ?? 'default') === ns);
}

/** The pods a Service selects. */
export function podsOfService(service: K8sObject, pods: PodView[]): PodView[] {
  const selector = { matchLabels: (service.spec as Json)?.selector ?? {} };
  if (isEmptySelector(selector)) return [];
  return pods.filter((p) => p.namespace === (service.metadata.namespace ?? 'default') && selectorMatches(selector, p.labels));
}

/** The container port a Service port reaches on a pod: targetPort by name or number (default: port). */
export function targetPortOn(servicePort: Json, pod: PodView, containers: ContainerView[]): { port?: number; container?: ContainerView } {
  const target = servicePort.targetPort ?? servicePort.port;
  for (const cv of containers.filter((c) => c.pod === pod)) {
    for (const cp of cv.c.ports ?? []) {
      if ((typeof target === 'number' && cp.containerPort === target) || cp.name === target) return { port: cp.containerPort, container: cv };
    }
  }
  return {};
}

export function resolveAddress(objects: K8sObject[], pods: PodView[], containers: ContainerView[], address: string, namespace: string): ResolvedAddress | undefined {
  const hp = splitHostPort(address);
  if (!hp) return undefined;
  const service = serviceForHost(objects, hp.host, namespace);
  if (!service) return undefined;
  const servicePort = ((service.spec as Json)?.ports ?? []).find((p: Json) => p.port === hp.port);
  if (!servicePort) return { service, servicePort: { port: hp.port }, targets: [] };
  return { service, servicePort, targets: podsOfService(service, pods).map((pod) => ({ pod, ...targetPortOn(servicePort, pod, containers) })) };
}
