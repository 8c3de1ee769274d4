import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadSpecFile, validateSpec } from '@selftrain/pipeline';
import type { K8sObject } from './manifest';
import { containersOf, envRecord, mountedFiles, podsOf, resolveEnv, type ContainerView } from './pod-view';
import { DEPLOY_ROOT, kubectlProblem, OVERLAYS, renderKustomization } from './render-overlay';
import { rendered } from './testing/rendered-overlays';

const WORKSPACE_ROOT = path.resolve(DEPLOY_ROOT, '..');

/** The pipeline Job's container, and the spec file its command runs, as mounted from the ConfigMap. */
function jobSpec(objects: K8sObject[]): { cv: ContainerView; specPath: string; content: string; source: string } {
  const cv = containersOf(podsOf(objects)).find((c) => c.role.kind === 'driver' && c.pod.owner.kind === 'Job');
  assert.ok(cv, 'no Job runs the driver');
  const argv: string[] = [...(cv.c.command ?? []), ...(cv.c.args ?? [])];
  const specPath = argv[argv.indexOf('run') + 1];
  const file = mountedFiles(cv, objects).get(specPath);
  assert.ok(file, `the Job runs ${specPath}, which no mounted ConfigMap provides`);
  return { cv, specPath, content: file.content, source: file.source };
}

/** The objects with the pipeline spec ConfigMap's spec.yaml replaced. */
function withSpec(objects: K8sObject[], spec: string): K8sObject[] {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('selftrain-pipeline-spec')) as K8sObject & { data: Record<string, string> };
  assert.ok(cm, 'no pipeline spec ConfigMap');
  cm.data['spec.yaml'] = spec;
  return objects;
}

for (const overlay of OVERLAYS) {
  test(`${overlay}: the spec in the Job's ConfigMap is valid, and the Job's SELFTRAIN_* variables supply the services`, () => {
    const { content, source, cv } = jobSpec(rendered(overlay));
    assert.match(source, /^ConfigMap\/selftrain-pipeline-spec-[a-z0-9]+$/, 'a generated, content-hashed ConfigMap');
    const spec = validateSpec(parseYaml(content));
    assert.equal(spec.services.teacher, '', 'no services section: the Job environment names them');
    const dir = mkdtempSync(path.join(tmpdir(), 'selftrain-spec-'));
    try {
      writeFileSync(path.join(dir, 'spec.yaml'), content);
      assert.equal(loadSpecFile(path.join(dir, 'spec.yaml')).name, spec.name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const env = envRecord(resolveEnv(cv, rendered(overlay), []));
    for (const v of ['SELFTRAIN_TEACHER', 'SELFTRAIN_STUDENT', 'SELFTRAIN_EVALUATOR', 'SELFTRAIN_LABELERS']) assert.ok(env[v], v);
  });
}

test('a bad spec shipped in the ConfigMap: the Job command exits 2 with every problem on stderr', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'selftrain-bad-spec-'));
  try {
    // An overlay of dev whose only change is the spec, the way a user would ship one.
    copyFileSync(path.join(DEPLOY_ROOT, 'test-fixtures', 'bad-spec.yaml'), path.join(dir, 'bad-spec.yaml'));
    writeFileSync(path.join(dir, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization',
      `resources: [${JSON.stringify(path.relative(dir, path.join(DEPLOY_ROOT, 'overlays', 'dev')))}]`,
      'configMapGenerator:', '  - name: selftrain-pipeline-spec', '    namespace: selftrain', '    behavior: replace',
      '    files: [spec.yaml=bad-spec.yaml]', '',
    ].join('\n'));
    // Rendered by kubectl where it can; else the same change made to the committed render of dev.
    const objects = kubectlProblem() === undefined ? renderKustomization(dir) : withSpec(rendered('dev'), readFileSync(path.join(dir, 'bad-spec.yaml'), 'utf8'));
    const { cv, specPath, content } = jobSpec(objects);
    assert.match(content, /max_step: 500/, 'the Job mounts the bad spec');

    // The Job's own command and environment, with its mounted files written under a scratch root.
    const root = path.join(dir, 'root');
    for (const f of mountedFiles(cv, objects).values()) {
      mkdirSync(path.dirname(path.join(root, f.path)), { recursive: true });
      writeFileSync(path.join(root, f.path), f.content);
    }
    const files = mountedFiles(cv, objects);
    const env = Object.fromEntries(Object.entries(envRecord(resolveEnv(cv, objects, []))).map(([k, v]) => [k, files.has(v) ? path.join(root, v) : v]));
    const argv: string[] = [...cv.c.command, ...(cv.c.args ?? [])].map((a: string) => (a === specPath ? path.join(root, specPath) : a));
    assert.equal(argv[0], 'node');
    const r = spawnSync(process.execPath, argv.slice(1), { cwd: WORKSPACE_ROOT, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, `exit ${r.status}; stderr:\n${r.stderr}`);
    assert.match(r.stderr, /invalid spec/);
    assert.match(r.stderr, /teacher\.max_step: unknown key/);
    assert.match(r.stderr, /labeling\.threshold: must be in \[0, 1\], got 1\.5/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
