import { objectRef, type K8sObject, type Problem } from './manifest';
import { objectData } from './pod-view';

export const NAMESPACE = 'selftrain';
export const PART_OF = { 'app.kubernetes.io/part-of': 'selftrain' };
/** Marks a Secret whose values are placeholders, so it can be left out: kubectl apply -l 'selftrain.dev/placeholder!=true'. */
export const PLACEHOLDER_LABEL = 'selftrain.dev/placeholder';
export const PLACEHOLDER_VALUE = /REPLACE_ME/;

/**
 * Every object lands in the selftrain namespace with the part-of label (an object added by an overlay or
 * component does not inherit the base's transformers), and placeholder values never hide in an unmarked
 * Secret (nor does a marked one carry real values).
 */
export function checkMetadata(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  for (const obj of objects) {
    const ref = objectRef(obj);
    if (obj.kind !== 'Namespace' && obj.metadata.namespace !== NAMESPACE) problems.push({ object: ref, path: 'metadata.namespace', message: `must be ${NAMESPACE}, got ${obj.metadata.namespace ?? '(unset: the default namespace)'}` });
    for (const [k, v] of Object.entries(PART_OF)) if (obj.metadata.labels?.[k] !== v) problems.push({ object: ref, path: `metadata.labels.${k}`, message: `must be ${v}` });
    if (obj.kind === 'Secret' || obj.kind === 'ConfigMap') {
      const placeholders = Object.entries(objectData(obj)).filter(([, v]) => PLACEHOLDER_VALUE.test(v)).map(([k]) => k);
      const marked = obj.metadata.labels?.[PLACEHOLDER_LABEL] === 'true';
      if (placeholders.length && !marked) problems.push({ object: ref, path: `metadata.labels.${PLACEHOLDER_LABEL}`, message: `holds placeholder values (${placeholders.join(', ')}) but is not labeled ${PLACEHOLDER_LABEL}=true` });
      if (marked && placeholders.length === 0) problems.push({ object: ref, path: `metadata.labels.${PLACEHOLDER_LABEL}`, message: 'is labeled as a placeholder but holds no placeholder value; remove the label' });
    }
  }
  return problems;
}

/** The placeholder Secrets of a render: what a user must create before applying outside dev. */
export function placeholderSecrets(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === 'Secret' && o.metadata.labels?.[PLACEHOLDER_LABEL] === 'true');
}
