import { isEmptySelector, objectRef, selectorMatches, type K8sObject, type LabelSelector, type Labels, type Problem } from './manifest';
import { containersOf, envRecord, podsOf, resolveEnv, type ContainerView, type Json, type PodView } from './pod-view';
import { resolveAddress, serviceForHost } from './service-address';

/*
 * NetworkPolicies evaluated offline with Kubernetes semantics (a pod selected by a policy of a type is
 * isolated for that direction; then a connection needs a rule on both ends). The flows the platform needs
 * must be allowed and the ones it must not have must be denied:
 *   allowed  driver -> each service's gRPC port (the addresses in SELFTRAIN_*), kubelet -> every probe port
 *            of the services, Prometheus -> every scraped metrics port, S3 clients -> S3_ENDPOINT, every
 *            pod -> cluster DNS;
 *   denied   any other pod -> a service's gRPC or metrics port, a service -> another service, a
 *            service -> the internet on anything but HTTPS.
 */

/** Where cluster DNS and Prometheus are assumed to run (the policies in base/ name the same). */
export const CLUSTER_DNS = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
export const PROMETHEUS = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };

type PortDecl = { name?: string; containerPort: number; protocol?: string };
export type Endpoint =
  | { kind: 'pod'; namespace: string; namespaceLabels: Labels; labels: Labels; ports: PortDecl[]; describe: string; pod?: PodView }
  /** Outside the cluster (matches ipBlock peers only). */
  | { kind: 'external'; describe: string }
  /** The pod's node, where kubelet probes come from (matches rules without `from`, or ipBlock peers). */
  | { kind: 'node'; describe: string };

export interface Flow { from: Endpoint; to: Endpoint; port: number; protocol: 'TCP' | 'UDP'; why: string }

interface Policy { obj: K8sObject; namespace: string; spec: Json; types: string[] }

function policiesOf(objects: K8sObject[]): Policy[] {
  return objects.filter((o) => o.kind === 'NetworkPolicy').map((obj) => {
    const spec = (obj.spec ?? {}) as Json;
    const types: string[] = spec.policyTypes ?? ['Ingress', ...(spec.egress ? ['Egress'] : [])];
    return { obj, namespace: obj.metadata.namespace ?? 'default', spec, types };
  });
}

function peerMatches(peer: Json, policyNamespace: string, ep: Endpoint): boolean {
  if (peer.ipBlock) return ep.kind !== 'pod';
  if (ep.kind !== 'pod') return false;
  if (peer.namespaceSelector) {
    return selectorMatches(peer.namespaceSelector, ep.namespaceLabels) && (!peer.podSelector || selectorMatches(peer.podSelector, ep.labels));
  }
  return ep.namespace === policyNamespace && selectorMatches(peer.podSelector, ep.labels);
}

function portMatches(rulePorts: Json[] | undefined, flow: Flow): boolean {
  if (!rulePorts || rulePorts.length === 0) return true;
  const dstPorts = flow.to.kind === 'pod' ? flow.to.ports : [];
  return rulePorts.some((p) => {
    if ((p.protocol ?? 'TCP') !== flow.protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'number') return p.endPort ? flow.port >= p.port && flow.port <= p.endPort : flow.port === p.port;
    return dstPorts.some((cp) => cp.name === p.port && cp.containerPort === flow.port && (cp.protocol ?? 'TCP') === flow.protocol);
  });
}

/** Which end blocks the flow (and the policies that isolate it), or undefined when it is allowed. */
export function blockedBy(policies: Policy[], flow: Flow, sides: ('egress' | 'ingress')[] = ['egress', 'ingress']): { side: 'egress' | 'ingress'; policies: string[] } | undefined {
  const side = (direction: 'Egress' | 'Ingress'): string[] | undefined => {
    const ep = direction === 'Egress' ? flow.from : flow.to;
    if (ep.kind !== 'pod') return undefined;
    const selecting = policies.filter((p) => p.namespace === ep.namespace && p.types.includes(direction) && selectorMatches(p.spec.podSelector, ep.labels));
    if (selecting.length === 0) return undefined;
    const other = direction === 'Egress' ? flow.to : flow.from;
    const allowed = selecting.some((p) => ((direction === 'Egress' ? p.spec.egress : p.spec.ingress) ?? []).some((rule: Json) => {
      const peers: Json[] | undefined = direction === 'Egress' ? rule.to : rule.from;
      const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, p.namespace, other));
      return peerOk && portMatches(rule.ports, flow);
    }));
    return allowed ? undefined : selecting.map((p) => p.obj.metadata.name);
  };
  const egress = sides.includes('egress') ? side('Egress') : undefined;
  if (egress) return { side: 'egress', policies: egress };
  const ingress = sides.includes('ingress') ? side('Ingress') : undefined;
  if (ingress) return { side: 'ingress', policies: ingress };
  return undefined;
}

export function checkNetworkPolicies(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  const policies = policiesOf(objects);
  const pods = podsOf(objects);
  const containers = containersOf(pods);
  const nsLabels = (ns: string): Labels => ({ ...(objects.find((o) => o.kind === 'Namespace' && o.metadata.name === ns)?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns });
  const podEndpoint = (pod: PodView): Endpoint => ({
    kind: 'pod', namespace: pod.namespace, namespaceLabels: nsLabels(pod.namespace), labels: pod.labels, pod, describe: pod.ref,
    ports: containers.filter((c) => c.pod === pod).flatMap((c) => c.c.ports ?? []),
  });
  const pseudo = (where: { namespace: string; labels: Labels }, describe: string): Endpoint => ({ kind: 'pod', namespace: where.namespace, namespaceLabels: nsLabels(where.namespace), labels: where.labels, ports: [], describe });

  checkSelectorsSelect(policies, pods, containers, problems);
  const namespaces = [...new Set(pods.map((p) => p.namespace))];
  for (const ns of namespaces) {
    const denyAll = policies.some((p) => p.namespace === ns && isEmptySelector(p.spec.podSelector) && p.types.includes('Ingress') && p.types.includes('Egress') && !p.spec.ingress?.length && !p.spec.egress?.length);
    if (!denyAll) problems.push({ object: `Namespace/${ns}`, path: 'NetworkPolicy', message: 'needs a default-deny NetworkPolicy (podSelector: {}, policyTypes: [Ingress, Egress], no rules)' });
  }

  // `sides`: for a source we do not control (any other pod), only the destination's ingress rules count.
  const expect = (flow: Flow, allowed: boolean, sides?: ('egress' | 'ingress')[]) => {
    const block = blockedBy(policies, flow, sides);
    if (allowed && block) {
      const blocked = block.side === 'egress' ? flow.from : flow.to;
      problems.push({
        object: blocked.kind === 'pod' && blocked.pod ? blocked.pod.ref : blocked.describe, path: 'NetworkPolicy',
        message: `${flow.why}: ${flow.from.describe} -> ${flow.to.describe} ${flow.protocol} ${flow.port} is blocked on ${block.side} (no rule allows it in ${block.policies.join(', ')})`,
      });
    }
    if (!allowed && !block) {
      const to = flow.to.kind === 'pod' && flow.to.pod ? flow.to.pod.ref : flow.to.describe;
      problems.push({ object: to, path: 'NetworkPolicy', message: `${flow.why}: ${flow.from.describe} -> ${flow.to.describe} ${flow.protocol} ${flow.port} must be denied but is allowed` });
    }
  };

  const node: Endpoint = { kind: 'node', describe: 'the node (kubelet)' };
  const prometheus = pseudo(PROMETHEUS, `Prometheus (${PROMETHEUS.namespace})`);
  const dns = pseudo(CLUSTER_DNS, 'cluster DNS (kube-system)');
  const services = containers.filter((c) => c.role.kind === 'service');

  for (const pod of pods) {
    const ep = podEndpoint(pod);
    expect({ from: ep, to: dns, port: 53, protocol: 'UDP', why: 'DNS lookups' }, true);
    if (pod.annotations['prometheus.io/scrape'] === 'true') {
      expect({ from: prometheus, to: ep, port: Number(pod.annotations['prometheus.io/port']), protocol: 'TCP', why: 'Prometheus scraping' }, true);
    }
  }

  for (const cv of services) {
    const ep = podEndpoint(cv.pod);
    // A conforming plugin always lets the node reach its pods; the rule keeps probes working where the
    // plugin filters host traffic too, which only an explicit rule covers.
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const port = cv.c[probe]?.grpc?.port;
      if (typeof port === 'number') expect({ from: node, to: ep, port, protocol: 'TCP', why: `kubelet ${probe}` }, true);
    }
    const intruder = pseudo({ namespace: cv.pod.namespace, labels: { 'app.kubernetes.io/name': 'some-other-pod' } }, `another pod in ${cv.pod.namespace}`);
    for (const cp of (cv.c.ports ?? []) as PortDecl[]) {
      if (cp.name === 'grpc' || cp.name === 'metrics') expect({ from: intruder, to: ep, port: cp.containerPort, protocol: 'TCP', why: `only the driver${cp.name === 'metrics' ? ' and Prometheus' : ''} may call ${cp.name}` }, false, ['ingress']);
    }
    for (const other of services.filter((o) => o.pod !== cv.pod)) {
      const grpc = ((other.c.ports ?? []) as PortDecl[]).find((p) => p.name === 'grpc');
      if (grpc) expect({ from: ep, to: podEndpoint(other.pod), port: grpc.containerPort, protocol: 'TCP', why: 'services never call each other' }, false);
    }
    expect({ from: ep, to: { kind: 'external', describe: 'the internet' }, port: 80, protocol: 'TCP', why: 'services reach outside the cluster only for S3 over HTTPS' }, false);
  }

  for (const cv of containers) {
    const env = envRecord(resolveEnv(cv, objects, []));
    const from = podEndpoint(cv.pod);
    if (cv.role.kind === 'driver') {
      for (const name of ['SELFTRAIN_TEACHER', 'SELFTRAIN_STUDENT', 'SELFTRAIN_EVALUATOR', 'SELFTRAIN_LABELERS']) {
        for (const address of (env[name] ?? '').split(',').map((a) => a.trim()).filter(Boolean)) {
          for (const t of resolveAddress(objects, pods, containers, address, cv.pod.namespace)?.targets ?? []) {
            if (t.port !== undefined) expect({ from, to: podEndpoint(t.pod), port: t.port, protocol: 'TCP', why: `the driver's ${name}=${address}` }, true);
          }
        }
      }
    }
    if (env.S3_ENDPOINT) for (const flow of s3Flows(cv, env.S3_ENDPOINT, objects, pods, containers, from, podEndpoint)) expect(flow, true);
  }
  return problems;
}

function s3Flows(cv: ContainerView, endpoint: string, objects: K8sObject[], pods: PodView[], containers: ContainerView[], from: Endpoint, podEndpoint: (p: PodView) => Endpoint): Flow[] {
  let url: URL;
  try { url = new URL(endpoint); } catch { return []; } // the env rules report a bad URL
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const why = `S3 (${endpoint}) from ${cv.c.name}`;
  if (serviceForHost(objects, url.hostname, cv.pod.namespace)) {
    const targets = resolveAddress(objects, pods, containers, `${url.hostname}:${port}`, cv.pod.namespace)?.targets ?? [];
    return targets.filter((t) => t.port !== undefined).map((t) => ({ from, to: podEndpoint(t.pod), port: t.port!, protocol: 'TCP' as const, why }));
  }
  return [{ from, to: { kind: 'external', describe: url.host }, port, protocol: 'TCP', why }];
}

/** A selector that selects nothing is a label typo: the policy silently does nothing (or blocks everything). */
function checkSelectorsSelect(policies: Policy[], pods: PodView[], containers: ContainerView[], problems: Problem[]): void {
  for (const p of policies) {
    const ref = objectRef(p.obj);
    const local = pods.filter((pod) => pod.namespace === p.namespace);
    const selected = local.filter((pod) => selectorMatches(p.spec.podSelector, pod.labels));
    if (selected.length === 0) problems.push({ object: ref, path: 'spec.podSelector', message: `${JSON.stringify(p.spec.podSelector)} selects no pod` });
    const portsOf = (list: PodView[]) => containers.filter((c) => list.includes(c.pod)).flatMap((c) => (c.c.ports ?? []) as PortDecl[]);
    for (const direction of ['ingress', 'egress'] as const) {
      (p.spec[direction] ?? []).forEach((rule: Json, i: number) => {
        const peers: Json[] = (direction === 'ingress' ? rule.from : rule.to) ?? [];
        let peerPods: PodView[] | undefined;
        peers.forEach((peer, j) => {
          if (peer.podSelector && !peer.namespaceSelector) {
            const matched = local.filter((pod) => selectorMatches(peer.podSelector as LabelSelector, pod.labels));
            if (matched.length === 0) problems.push({ object: ref, path: `spec.${direction}[${i}].${direction === 'ingress' ? 'from' : 'to'}[${j}].podSelector`, message: `${JSON.stringify(peer.podSelector)} selects no pod` });
            peerPods = [...(peerPods ?? []), ...matched];
          }
        });
        // Named ports resolve on the destination: the selected pods for ingress, the peers for egress.
        const destination = direction === 'ingress' ? selected : peerPods;
        if (!destination) return;
        (rule.ports ?? []).forEach((port: Json, k: number) => {
          if (typeof port.port === 'string' && !portsOf(destination).some((cp) => cp.name === port.port)) {
            problems.push({ object: ref, path: `spec.${direction}[${i}].ports[${k}].port`, message: `no destination pod has a container port named "${port.port}"` });
          }
        });
      });
    }
  }
}
