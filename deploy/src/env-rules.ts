import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { serviceAddressesFromEnv } from '@selftrain/pipeline';
import { clientSecurityFromEnv } from '@selftrain/rpc';
import { readServiceConfig } from '@selftrain/service-runtime';
import { storageConfigFromEnv } from '@selftrain/storage';
import { DRIVER_ENV_VARS, LOCAL_ONLY_ENV_VARS, SERVICE_ENV_VARS, type EnvVar } from './env-contract';
import type { K8sObject, Problem } from './manifest';
import { PLACEHOLDER_LABEL } from './metadata-rules';
import { containersOf, envRecord, findObject, mountedFiles, podsOf, resolveEnv, type ContainerView } from './pod-view';

/**
 * Each service's and the driver's environment against what the process reads at start: every
 * required variable set, every variable set one it knows (a typo fails), files named by *_FILE variables
 * mounted, and the whole environment accepted by the process's own config validation.
 */
export function checkEnvironment(objects: K8sObject[]): Problem[] {
  const problems: Problem[] = [];
  const scratch = mkdtempSync(path.join(tmpdir(), 'selftrain-deploy-env-'));
  try {
    for (const cv of containersOf(podsOf(objects))) {
      if (cv.role.kind === 'other') continue;
      checkContainerEnv(cv, objects, problems, path.join(scratch, `${cv.pod.ref.replace('/', '-')}-${cv.index}`));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return problems;
}

function checkContainerEnv(cv: ContainerView, objects: K8sObject[], problems: Problem[], root: string): void {
  const who = cv.role.kind === 'service' ? `the ${cv.role.service} service` : 'the driver (selftrain run)';
  const contract: readonly EnvVar[] = cv.role.kind === 'service' ? SERVICE_ENV_VARS : DRIVER_ENV_VARS;
  const add = (at: string, message: string) => problems.push({ object: cv.pod.ref, path: at, message });
  const entries = resolveEnv(cv, objects, problems);
  const envPath = `${cv.path}.env`;

  const seen = new Set<string>();
  (cv.c.env ?? []).forEach((e: { name: string }, i: number) => {
    if (seen.has(e.name)) add(`${envPath}[${i}]`, `${e.name} is set twice; the last one wins silently`);
    seen.add(e.name);
  });
  const names = new Set(contract.map((v) => v.name));
  for (const e of entries) {
    if (LOCAL_ONLY_ENV_VARS.includes(e.name)) add(e.path, `${e.name} is for local processes only; do not set it in a pod`);
    else if (!names.has(e.name)) add(e.path, `${e.name} (from ${e.from}) is not a variable ${who} reads${suggest(e.name, [...names])}`);
  }
  const byName = new Map(entries.map((e) => [e.name, e]));
  for (const v of contract.filter((x) => x.required)) {
    const e = byName.get(v.name);
    if (!e) add(envPath, `${v.name} is required by ${who} but not set (${v.description})`);
    else if (e.value === '') add(e.path, `${v.name} is required by ${who} but empty`);
  }

  // Files the process will open must be in a mounted Secret or ConfigMap.
  const files = mountedFiles(cv, objects);
  for (const e of entries) {
    if (!e.name.endsWith('_FILE') || e.name === 'PORT_FILE' || e.value === undefined) continue;
    if (!files.has(e.value)) add(e.path, `${e.name}=${e.value} is not a file of any Secret or ConfigMap mounted in ${cv.c.name}`);
  }

  // The process's own validation, on the environment it would get, with mounted files written out.
  // Values from placeholder Secrets are templates, checked for presence only: they are meant to be
  // rejected at start (the token template has spaces), so a forgotten one cannot go live.
  const fromPlaceholder = new Set(entries.filter((e) => isPlaceholderSource(e.from, objects, cv.pod.namespace)
    || (e.value !== undefined && files.has(e.value) && isPlaceholderSource(files.get(e.value)!.source, objects, cv.pod.namespace))).map((e) => e.name));
  const env = materialize(envRecord(entries), files, root);
  for (const message of validate(cv, env)) {
    const field = /^([A-Z][A-Z0-9_]*):/.exec(message)?.[1];
    if (field && fromPlaceholder.has(field)) continue;
    add(byName.get(field ?? '')?.path ?? envPath, `${who} rejects this at start: ${message}`);
  }
}

/** "Secret/NAME" or "Secret/NAME[key]" of a Secret labeled as a placeholder template. */
function isPlaceholderSource(from: string, objects: K8sObject[], namespace: string): boolean {
  const name = /^Secret\/([^[]+)/.exec(from)?.[1];
  const secret = name ? findObject(objects, 'Secret', name, namespace) : undefined;
  return secret?.metadata.labels?.[PLACEHOLDER_LABEL] === 'true';
}

function materialize(env: Record<string, string>, files: ReturnType<typeof mountedFiles>, root: string): Record<string, string> {
  const out = { ...env };
  for (const f of files.values()) {
    const target = path.join(root, f.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, f.content);
  }
  for (const [k, v] of Object.entries(out)) if (files.has(v)) out[k] = path.join(root, v);
  return out;
}

function validate(cv: ContainerView, env: Record<string, string>): string[] {
  const messages: string[] = [];
  const collect = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      const problems = (err as { problems?: { message: string }[] }).problems;
      if (problems) messages.push(...problems.map((p) => p.message));
      else messages.push((err as Error).message);
    }
  };
  if (cv.role.kind === 'service') {
    const service = cv.role.service;
    collect(() => readServiceConfig(service, env));
  } else {
    messages.push(...storageConfigFromEnv(env).problems.map((p) => p.message));
    collect(() => serviceAddressesFromEnv(env));
    collect(() => clientSecurityFromEnv(env));
  }
  return messages;
}

/** " (did you mean GRPC_PORT?)" for a name one or two edits away from a known one. */
function suggest(name: string, known: string[]): string {
  let best: { n: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d <= 2 && (!best || d < best.d)) best = { n: k, d };
  }
  return best ? ` (did you mean ${best.n}?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

