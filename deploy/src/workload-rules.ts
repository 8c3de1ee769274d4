import { isEmptySelector, objectRef, selectorMatches, type K8sObject, type Problem } from './manifest';
import { containersOf, findObject, podsOf, roleOf, type ContainerView, type Json, type PodView } from './pod-view';
import { parseQuantity } from './quantity';

/** The image's USER (deploy/images/Dockerfile); pods run as it, never as root. */
export const RUN_AS_USER = 10001;

/**
 * The project's rules for every pod and container: resources, probes, a locked-down security context,
 * pinned images, selectors that match, and the objects they reference existing.
 */
export function checkWorkloads(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  const pods = podsOf(objects);
  for (const pod of pods) checkPod(pod, objects, problems);
  for (const cv of containersOf(pods)) checkContainer(cv, problems);
  checkDisruptionBudgets(objects, pods, problems);
  checkAutoscalers(objects, problems);
  return problems;
}

function checkPod(pod: PodView, objects: K8sObject[], problems: Problem[]): void {
  const { owner, ref, spec, specPath } = pod;
  const add = (path: string, message: string) => problems.push({ object: ref, path, message });
  const tmplPath = specPath.replace(/\.spec$/, '');

  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(owner.kind)) {
    const selector = (owner.spec as Json)?.selector;
    if (isEmptySelector(selector)) add('spec.selector', 'is empty: it must select the pod template by label');
    else if (!selectorMatches(selector, pod.labels)) add('spec.selector', `${JSON.stringify(selector)} does not match the pod template labels ${JSON.stringify(pod.labels)} (${tmplPath}.metadata.labels)`);
  }

  const saName = spec.serviceAccountName ?? 'default';
  const sa = findObject(objects, 'ServiceAccount', saName, pod.namespace);
  if (spec.serviceAccountName && !sa) add(`${specPath}.serviceAccountName`, `ServiceAccount "${saName}" is not in the rendered manifests`);
  if (spec.automountServiceAccountToken !== false && sa?.automountServiceAccountToken !== false) {
    add(`${specPath}.automountServiceAccountToken`, 'must be false (here or on the ServiceAccount): nothing here calls the Kubernetes API');
  }
  for (const flag of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[flag]) add(`${specPath}.${flag}`, 'must not be set');

  const volumes = new Map<string, Json>((spec.volumes ?? []).map((v: Json) => [v.name, v]));
  // A StatefulSet's claim templates are volumes of its pods too.
  for (const claim of ((owner.spec as Json)?.volumeClaimTemplates ?? []) as Json[]) volumes.set(claim.metadata?.name, { name: claim.metadata?.name, persistentVolumeClaim: {} });
  (spec.volumes ?? []).forEach((v: Json, i: number) => {
    const at = `${specPath}.volumes[${i}]`;
    if (v.hostPath) add(`${at}.hostPath`, 'hostPath volumes are not allowed');
    const ref = v.secret ? { kind: 'Secret', name: v.secret.secretName, optional: v.secret.optional, items: v.secret.items }
      : v.configMap ? { kind: 'ConfigMap', name: v.configMap.name, optional: v.configMap.optional, items: v.configMap.items } : undefined;
    if (!ref || ref.optional) return;
    const obj = findObject(objects, ref.kind, ref.name, pod.namespace);
    if (!obj) { add(at, `${ref.kind} "${ref.name}" is not in the rendered manifests`); return; }
    const keys = new Set([...Object.keys((obj.data ?? {}) as object), ...Object.keys((obj.stringData ?? {}) as object)]);
    for (const item of ref.items ?? []) if (!keys.has(item.key)) add(`${at}.items`, `key "${item.key}" is not in ${ref.kind} "${ref.name}"`);
  });
  (spec.containers ?? []).forEach((c: Json, i: number) => {
    (c.volumeMounts ?? []).forEach((m: Json, j: number) => {
      if (!volumes.has(m.name)) add(`${specPath}.containers[${i}].volumeMounts[${j}]`, `mounts volume "${m.name}", which the pod does not define`);
    });
    // A read-only root filesystem needs a writable /tmp (Node, TF.js and npm write there).
    const tmp = (c.volumeMounts ?? []).find((m: Json) => m.mountPath === '/tmp');
    if (!tmp || !volumes.get(tmp.name)?.emptyDir) add(`${specPath}.containers[${i}].volumeMounts`, 'needs an emptyDir volume mounted at /tmp');
  });

  const psc = spec.securityContext ?? {};
  if (psc.runAsNonRoot !== true && !(spec.containers ?? []).every((c: Json) => c.securityContext?.runAsNonRoot === true)) {
    add(`${specPath}.securityContext.runAsNonRoot`, 'must be true');
  }
  if (owner.kind === 'Job' && spec.restartPolicy === 'Always') add(`${specPath}.restartPolicy`, 'a Job pod must not restart Always');
  // The pipeline Job: a bad spec or a failed run must fail the Job at once, with the reason in the one log.
  if (owner.kind === 'Job' && (spec.containers ?? []).some((c: Json) => roleOf(c).kind === 'driver')) {
    if ((owner.spec as Json)?.backoffLimit !== 0) add('spec.backoffLimit', `must be 0 for the pipeline driver, got ${(owner.spec as Json)?.backoffLimit ?? 'unset (6)'}`);
    if (spec.restartPolicy !== 'Never') add(`${specPath}.restartPolicy`, 'must be Never for the pipeline driver');
  }
}

function checkContainer(cv: ContainerView, problems: Problem[]): void {
  const { pod, c, path } = cv;
  const add = (at: string, message: string) => problems.push({ object: pod.ref, path: at, message });
  const name = `container "${c.name}"`;

  // Pinned images: a tag other than latest, or a digest, so every node runs the same bits.
  const image = String(c.image ?? '');
  const digest = /@sha256:[0-9a-f]{64}$/.test(image);
  const tag = /:([^/:@]+)$/.exec(image.replace(/@.*$/, ''))?.[1];
  if (!image) add(`${path}.image`, `${name} has no image`);
  else if (!digest && !tag) add(`${path}.image`, `"${image}" is not pinned: give a tag (not latest) or a digest`);
  else if (!digest && tag === 'latest') add(`${path}.image`, `"${image}" uses the tag latest: pin a version or a digest`);

  const res = c.resources ?? {};
  for (const kind of ['requests', 'limits'] as const) {
    for (const r of ['cpu', 'memory']) {
      if (res[kind]?.[r] === undefined) add(`${path}.resources.${kind}.${r}`, `${name} must set resources.${kind}.${r}`);
      else if (parseQuantity(res[kind][r]) === undefined) add(`${path}.resources.${kind}.${r}`, `"${res[kind][r]}" is not a quantity`);
    }
  }
  for (const [r, limit] of Object.entries((res.limits ?? {}) as Record<string, unknown>)) {
    const req = res.requests?.[r];
    if (req === undefined) continue;
    const [a, b] = [parseQuantity(req), parseQuantity(limit)];
    if (a !== undefined && b !== undefined && a > b) add(`${path}.resources.requests.${r}`, `request ${req} is above the limit ${limit}`);
    // Extended resources (nvidia.com/gpu) cannot be overcommitted: Kubernetes rejects request != limit.
    if (r.includes('/') && a !== b) add(`${path}.resources.requests.${r}`, `${r} request ${req} must equal its limit ${limit}`);
  }

  if (pod.longRunning) {
    for (const probe of ['readinessProbe', 'livenessProbe']) if (!c[probe]) add(`${path}.${probe}`, `${name} has no ${probe}`);
  }
  const ports = (c.ports ?? []) as Json[];
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const p = c[probe];
    const port = p?.grpc?.port ?? p?.httpGet?.port ?? p?.tcpSocket?.port;
    if (port === undefined) continue;
    const found = typeof port === 'number' ? ports.some((cp) => cp.containerPort === port) : ports.some((cp) => cp.name === port);
    if (!found) add(`${path}.${probe}`, `probes port ${port}, which ${name} does not declare in ports`);
  }

  const sc = c.securityContext ?? {};
  const psc = pod.spec.securityContext ?? {};
  const eff = (k: string) => (sc[k] !== undefined ? sc[k] : psc[k]);
  const sec = `${path}.securityContext`;
  if (eff('runAsNonRoot') !== true) add(`${sec}.runAsNonRoot`, `${name} must run with runAsNonRoot: true`);
  if (eff('runAsUser') !== RUN_AS_USER) add(`${sec}.runAsUser`, `${name} must run as user ${RUN_AS_USER} (the image's USER), got ${eff('runAsUser') ?? 'unset'}`);
  if (sc.allowPrivilegeEscalation !== false) add(`${sec}.allowPrivilegeEscalation`, `${name} must set allowPrivilegeEscalation: false`);
  if (sc.readOnlyRootFilesystem !== true) add(`${sec}.readOnlyRootFilesystem`, `${name} must set readOnlyRootFilesystem: true`);
  if (sc.privileged) add(`${sec}.privileged`, `${name} must not be privileged`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) add(`${sec}.capabilities.drop`, `${name} must drop ALL capabilities`);
  if ((sc.capabilities?.add ?? []).length) add(`${sec}.capabilities.add`, `${name} must not add capabilities`);
  const seccomp = eff('seccompProfile')?.type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') add(`${sec}.seccompProfile`, `${name} needs seccompProfile RuntimeDefault, got ${seccomp ?? 'unset'}`);
}

/** Every Deployment is covered by a PodDisruptionBudget; every budget selects something. */
function checkDisruptionBudgets(objects: K8sObject[], pods: PodView[], problems: Problem[]): void {
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  for (const pdb of pdbs) {
    const sel = (pdb.spec as Json)?.selector;
    if (isEmptySelector(sel) || !pods.some((p) => p.namespace === pdb.metadata.namespace && selectorMatches(sel, p.labels))) {
      problems.push({ object: `PodDisruptionBudget/${pdb.metadata.name}`, path: 'spec.selector', message: `${JSON.stringify(sel)} selects no pod template` });
    }
  }
  for (const pod of pods.filter((p) => p.owner.kind === 'Deployment')) {
    if (!pdbs.some((pdb) => pdb.metadata.namespace === pod.namespace && selectorMatches((pdb.spec as Json)?.selector, pod.labels))) {
      problems.push({ object: pod.ref, path: 'metadata.name', message: 'no PodDisruptionBudget selects its pods' });
    }
  }
}

function checkAutoscalers(objects: K8sObject[], problems: Problem[]): void {
  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const target = (hpa.spec as Json)?.scaleTargetRef ?? {};
    const obj = findObject(objects, target.kind, target.name, hpa.metadata.namespace ?? 'default');
    if (!obj) problems.push({ object: `HorizontalPodAutoscaler/${hpa.metadata.name}`, path: 'spec.scaleTargetRef', message: `${target.kind}/${target.name} is not in the rendered manifests` });
    // A replica count in the Deployment would be re-imposed by every apply, fighting the autoscaler.
    if ((obj?.spec as Json)?.replicas !== undefined) problems.push({ object: objectRef(obj!), path: 'spec.replicas', message: `is set, but HorizontalPodAutoscaler/${hpa.metadata.name} owns the replica count: remove it` });
    const spec = hpa.spec as Json;
    if ((spec?.minReplicas ?? 1) > spec?.maxReplicas) problems.push({ object: `HorizontalPodAutoscaler/${hpa.metadata.name}`, path: 'spec.minReplicas', message: `is above maxReplicas ${spec.maxReplicas}` });
  }
}
