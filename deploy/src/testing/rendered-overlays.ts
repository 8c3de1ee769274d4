import type { K8sObject } from '../manifest';
import type { Json } from '../pod-view';
import { renderOverlay } from '../render-overlay';

const cache = new Map<string, K8sObject[]>();

/** A fresh copy of an overlay's render (rendered once per test process), safe to break in place. */
export function rendered(overlay: string): K8sObject[] {
  if (!cache.has(overlay)) cache.set(overlay, renderOverlay(overlay));
  return structuredClone(cache.get(overlay)!);
}

export function get(objects: K8sObject[], kind: string, name: string): Json {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`${kind}/${name} is not in the render`);
  return obj as Json;
}

/** The first container of a Deployment, StatefulSet or Job. */
export function container(objects: K8sObject[], kind: string, name: string): Json {
  return get(objects, kind, name).spec.template.spec.containers[0];
}

export function envVar(c: Json, name: string): Json | undefined {
  return (c.env ?? []).find((e: Json) => e.name === name);
}
