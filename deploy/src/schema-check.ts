import { objectRef, type K8sObject, type Problem } from './manifest';

/**
 * Offline validation against the Kubernetes OpenAPI schemas (kubernetes-models: types, formats, required
 * fields), plus what those validators let through: fields the schema does not define. A misspelt field
 * (`resource:` for `resources:`) is dropped silently by the API server; here it fails.
 *
 * Unknown fields are found by letting the model's own compiled schema validator walk a recording view of
 * the object: it reads every property its schema defines (present or not) and enumerates the keys of maps
 * (labels, resources.limits). A key of a visited object that the validator neither read nor enumerated is
 * not in the schema.
 */
export async function checkSchemas(objects: K8sObject[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const obj of objects) problems.push(...(await checkSchema(obj)));
  return problems;
}

type Validate = (this: unknown) => void;
const validators = new Map<string, Validate | undefined>();

async function validatorFor(apiVersion: string, kind: string): Promise<Validate | undefined> {
  const id = `${apiVersion}/${kind}`;
  if (!validators.has(id)) {
    let model: { prototype?: { validate?: Validate } } | undefined;
    try {
      // kubernetes-models is ESM-only: one module per group/version, e.g. kubernetes-models/apps/v1.
      const mod = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, typeof model>;
      model = mod[kind];
    } catch {
      model = undefined;
    }
    validators.set(id, model?.prototype?.validate);
  }
  return validators.get(id);
}

interface Visit { path: string; value: Record<string, unknown>; read: Set<string>; enumerated: boolean }

/** A copy of `value` whose objects record which keys are read (get/has) and whether their keys are listed. */
function recording(value: unknown, path: string, visits: Visit[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => recording(v, `${path}[${i}]`, visits));
  if (value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const visit: Visit = { path, value: source, read: new Set(), enumerated: false };
  visits.push(visit);
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(source)) copy[k] = recording(v, path ? `${path}.${k}` : k, visits);
  return new Proxy(copy, {
    get(target, key, receiver) { if (typeof key === 'string') visit.read.add(key); return Reflect.get(target, key, receiver); },
    has(target, key) { if (typeof key === 'string') visit.read.add(key); return Reflect.has(target, key); },
    ownKeys(target) { visit.enumerated = true; return Reflect.ownKeys(target); },
  });
}

async function checkSchema(obj: K8sObject): Promise<Problem[]> {
  const ref = objectRef(obj);
  const validate = await validatorFor(obj.apiVersion, obj.kind);
  if (!validate) return [{ object: ref, path: 'apiVersion', message: `no schema for ${obj.apiVersion} ${obj.kind} in kubernetes-models (unknown or removed API)` }];
  const problems: Problem[] = [];
  const visits: Visit[] = [];
  try {
    validate.call(recording(obj, '', visits));
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (!errors) throw err;
    for (const e of errors) {
      problems.push({ object: ref, path: pointerToPath(e.instancePath) || '(object)', message: `${e.message ?? 'is invalid'} (${obj.apiVersion} ${obj.kind} schema)` });
    }
  }
  for (const v of visits) {
    // Objects the validator never looked into sit under an unknown key (reported there) or are free-form.
    if (v.enumerated || v.read.size === 0) continue;
    for (const key of Object.keys(v.value)) {
      if (!v.read.has(key)) problems.push({ object: ref, path: v.path ? `${v.path}.${key}` : key, message: `unknown field "${key}" (not in the ${obj.apiVersion} ${obj.kind} schema)` });
    }
  }
  return problems;
}

/** "/spec/template/spec/containers/0/ports/0/containerPort" -> "spec.template.spec.containers[0].ports[0].containerPort". */
function pointerToPath(pointer: string): string {
  return pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}
