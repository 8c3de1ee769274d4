import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from './manifest';

/** deploy/ (this file runs from deploy/dist). */
export const DEPLOY_ROOT = path.resolve(__dirname, '..');
export const OVERLAYS = ['dev', 'cpu', 'gpu', 'prod'] as const;
export type OverlayName = (typeof OVERLAYS)[number];

// kustomize v5 reads the `labels` and `components` fields the base and overlays use; kubectl >= 1.27
// bundles it (Debian's kubernetes-client 1.20 bundles v2 and cannot render them).
const MIN_KUSTOMIZE_MAJOR = 5;

function kubectlPath(): string {
  return process.env.KUBECTL || 'kubectl';
}

let checkedKubectl: string | undefined;

/** Throws a message saying what to install when kubectl is missing or too old; never passes silently. */
export function requireKubectl(): string {
  const kubectl = kubectlPath();
  if (checkedKubectl === kubectl) return kubectl;
  const r = spawnSync(kubectl, ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (r.error) {
    throw new Error(`kubectl is required to render the manifests (${kubectl}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}). `
      + `Install kubectl >= 1.27 (it bundles kustomize v${MIN_KUSTOMIZE_MAJOR}), or set KUBECTL to its path.`);
  }
  let version: { clientVersion?: { gitVersion?: string }; kustomizeVersion?: string } = {};
  try { version = JSON.parse(r.stdout); } catch { /* reported below */ }
  const major = Number(/^v?(\d+)/.exec(version.kustomizeVersion ?? '')?.[1] ?? NaN);
  if (!(major >= MIN_KUSTOMIZE_MAJOR)) {
    throw new Error(`${kubectl} ${version.clientVersion?.gitVersion ?? '(unknown version)'} bundles kustomize ${version.kustomizeVersion ?? '(none)'}; `
      + `the overlays need kustomize v${MIN_KUSTOMIZE_MAJOR} (kubectl >= 1.27).`);
  }
  checkedKubectl = kubectl;
  return kubectl;
}

/** Why kubectl cannot render here, or undefined when it can. */
export function kubectlProblem(): string | undefined {
  try {
    requireKubectl();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** `kubectl kustomize DIR` as text. */
export function kustomizeText(dir: string): string {
  const kubectl = requireKubectl();
  const r = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${r.stderr || r.error?.message}`);
  return r.stdout;
}

export function parseObjects(text: string, where: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${where}: invalid YAML: ${doc.errors[0].message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

/** `kubectl kustomize DIR`, parsed: every object the overlay would apply. */
export function renderKustomization(dir: string): K8sObject[] {
  return parseObjects(kustomizeText(dir), `kubectl kustomize ${dir}`);
}

/**
 * Each overlay's render, committed (deploy/rendered/NAME.yaml): what `kubectl apply -f` takes where
 * kustomize is not at hand, and what the checks read where kubectl is missing. A test keeps it equal to
 * a fresh render wherever kubectl can make one; `npm run render -w @selftrain/deploy` rewrites it.
 */
export const RENDERED_DIR = path.join(DEPLOY_ROOT, 'rendered');

export function renderedPath(name: string): string {
  return path.join(RENDERED_DIR, `${name}.yaml`);
}

/** An overlay's objects: rendered now by kubectl when it can, else the committed render. */
export function renderOverlay(name: OverlayName | string): K8sObject[] {
  if (kubectlProblem() === undefined) return renderKustomization(path.join(DEPLOY_ROOT, 'overlays', name));
  return parseObjects(readFileSync(renderedPath(name), 'utf8'), renderedPath(name));
}
