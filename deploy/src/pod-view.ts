import { objectRef, type K8sObject, type Labels, type Problem } from './manifest';

/* The pods the rendered objects would create, with each container's environment and mounted files
   resolved against the rendered ConfigMaps and Secrets: what every rule below reasons about. */

export const SELFTRAIN_SERVICES = ['teacher', 'labeler', 'student', 'evaluator'] as const;
export type SelftrainService = (typeof SELFTRAIN_SERVICES)[number];

// Rendered objects are checked field by field; a loose type keeps the rules readable.
export type Json = Record<string, any>;

export interface PodView {
  owner: K8sObject;
  ref: string;
  /** Path of the pod spec inside the owner, e.g. "spec.template.spec". */
  specPath: string;
  namespace: string;
  labels: Labels;
  annotations: Record<string, string>;
  spec: Json;
  /** Deployment / StatefulSet / DaemonSet: restarted forever, so probed. */
  longRunning: boolean;
}

export type ContainerRole = { kind: 'service'; service: SelftrainService } | { kind: 'driver' } | { kind: 'other' };

export interface ContainerView {
  pod: PodView;
  index: number;
  path: string;
  c: Json;
  role: ContainerRole;
}

const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'], StatefulSet: ['spec', 'template'], DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'], Job: ['spec', 'template'], CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export function podsOf(objects: K8sObject[]): PodView[] {
  const pods: PodView[] = [];
  for (const obj of objects) {
    const at = TEMPLATE_PATHS[obj.kind];
    if (!at) continue;
    let template: Json | undefined = obj as Json;
    for (const k of at) template = template?.[k];
    if (!template) continue;
    pods.push({
      owner: obj, ref: objectRef(obj), specPath: `${at.join('.')}.spec`, namespace: obj.metadata.namespace ?? 'default',
      labels: template.metadata?.labels ?? {}, annotations: template.metadata?.annotations ?? {}, spec: template.spec ?? {},
      longRunning: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(obj.kind),
    });
  }
  return pods;
}

/** What a container runs, from its command line (the image is shared; the command picks the program). */
export function roleOf(c: Json): ContainerRole {
  const argv = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
  const service = /(?:^|[\s/])services\/([a-z]+)\/dist\/main\.js\b/.exec(argv)?.[1];
  if (service && (SELFTRAIN_SERVICES as readonly string[]).includes(service)) return { kind: 'service', service: service as SelftrainService };
  if (/(?:^|[\s/])tools\/cli\/(?:dist\/cli|bin\/selftrain)\.js\b/.test(argv) || c.command?.[0] === 'selftrain') return { kind: 'driver' };
  return { kind: 'other' };
}

export function containersOf(pods: PodView[]): ContainerView[] {
  return pods.flatMap((pod) => (pod.spec.containers ?? []).map((c: Json, index: number) => ({
    pod, index, path: `${pod.specPath}.containers[${index}]`, c, role: roleOf(c),
  })));
}

export function findObject(objects: K8sObject[], kind: string, name: string, namespace: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name && (o.metadata.namespace ?? 'default') === namespace);
}

/** Keys and decoded values of a ConfigMap or Secret (data is base64 in Secrets, stringData is plain). */
export function objectData(obj: K8sObject): Record<string, string> {
  const out: Record<string, string> = {};
  const data = (obj.data ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(data)) out[k] = obj.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : String(v);
  if (obj.kind === 'ConfigMap') for (const [k, v] of Object.entries((obj.binaryData ?? {}) as Record<string, string>)) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries((obj.stringData ?? {}) as Record<string, string>)) out[k] = String(v);
  return out;
}

export interface EnvEntry {
  name: string;
  /** The value the process would see, when the manifests determine it (not for fieldRef/resourceFieldRef). */
  value?: string;
  from: string;
  path: string;
}

/** The container's environment: envFrom first, then env (later wins), $(VAR) expanded like the kubelet. */
export function resolveEnv(cv: ContainerView, objects: K8sObject[], problems: Problem[]): EnvEntry[] {
  const { pod, c, path } = cv;
  const entries: EnvEntry[] = [];
  const known = new Map<string, string | undefined>();
  (c.envFrom ?? []).forEach((src: Json, i: number) => {
    const kind = src.configMapRef ? 'ConfigMap' : src.secretRef ? 'Secret' : undefined;
    const ref = src.configMapRef ?? src.secretRef;
    if (!kind || !ref?.name) return;
    const obj = findObject(objects, kind, ref.name, pod.namespace);
    if (!obj) {
      if (!ref.optional) problems.push({ object: pod.ref, path: `${path}.envFrom[${i}]`, message: `${kind} "${ref.name}" is not in the rendered manifests` });
      return;
    }
    for (const [k, v] of Object.entries(objectData(obj))) {
      const name = `${src.prefix ?? ''}${k}`;
      entries.push({ name, value: v, from: `${kind}/${ref.name}`, path: `${path}.envFrom[${i}]` });
      known.set(name, v);
    }
  });
  (c.env ?? []).forEach((e: Json, i: number) => {
    const at = `${path}.env[${i}]`;
    let value: string | undefined;
    let from = 'value';
    const keyRef = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
    if (keyRef) {
      const kind = e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
      from = `${kind}/${keyRef.name}[${keyRef.key}]`;
      const obj = findObject(objects, kind, keyRef.name, pod.namespace);
      const data = obj ? objectData(obj) : undefined;
      if (!obj && !keyRef.optional) problems.push({ object: pod.ref, path: `${at}.valueFrom`, message: `${e.name} reads ${kind} "${keyRef.name}", which is not in the rendered manifests` });
      else if (data && !(keyRef.key in data) && !keyRef.optional) problems.push({ object: pod.ref, path: `${at}.valueFrom`, message: `${e.name} reads key "${keyRef.key}" of ${kind} "${keyRef.name}", which has only ${Object.keys(data).join(', ') || 'no keys'}` });
      value = data?.[keyRef.key];
    } else if (e.valueFrom) {
      from = 'fieldRef';
    } else {
      value = String(e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => (known.has(n) ? known.get(n) ?? '' : m));
    }
    entries.push({ name: e.name, value, from, path: at });
    known.set(e.name, value);
  });
  return entries;
}

/** The final environment as a record (later entries win, as in the kubelet). */
export function envRecord(entries: EnvEntry[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) if (e.value !== undefined) out[e.name] = e.value;
  return out;
}

export interface MountedFile { path: string; volume: string; source: string; key: string; content: string }

/** Files the container sees from Secret and ConfigMap volumes (and projected ones), by absolute path. */
export function mountedFiles(cv: ContainerView, objects: K8sObject[]): Map<string, MountedFile> {
  const files = new Map<string, MountedFile>();
  const volumes = new Map<string, Json>((cv.pod.spec.volumes ?? []).map((v: Json) => [v.name, v]));
  for (const m of cv.c.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) continue;
    const sources: { kind: string; name: string; items?: { key: string; path: string }[] }[] = [];
    if (v.secret) sources.push({ kind: 'Secret', name: v.secret.secretName, items: v.secret.items });
    if (v.configMap) sources.push({ kind: 'ConfigMap', name: v.configMap.name, items: v.configMap.items });
    for (const p of v.projected?.sources ?? []) {
      if (p.secret) sources.push({ kind: 'Secret', name: p.secret.name, items: p.secret.items });
      if (p.configMap) sources.push({ kind: 'ConfigMap', name: p.configMap.name, items: p.configMap.items });
    }
    for (const s of sources) {
      const obj = findObject(objects, s.kind, s.name, cv.pod.namespace);
      if (!obj) continue;
      const data = objectData(obj);
      const items = s.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        if (!(item.key in data)) continue;
        const full = `${String(m.mountPath).replace(/\/$/, '')}/${m.subPath ? '' : item.path}`.replace(/\/$/, '');
        if (m.subPath && m.subPath !== item.path) continue;
        files.set(full, { path: full, volume: v.name, source: `${s.kind}/${s.name}`, key: item.key, content: data[item.key] });
      }
    }
  }
  return files;
}
