import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEPLOY_ROOT, kubectlProblem, kustomizeText, OVERLAYS, renderedPath, renderKustomization, renderOverlay } from './render-overlay';

function withKubectl<T>(kubectl: string, fn: () => T): T {
  const saved = process.env.KUBECTL;
  process.env.KUBECTL = kubectl;
  try { return fn(); } finally { if (saved === undefined) delete process.env.KUBECTL; else process.env.KUBECTL = saved; }
}

test('without kubectl the render fails and says what to install (it never passes silently)', () => {
  assert.throws(() => withKubectl('/nonexistent/kubectl', () => renderKustomization(path.join(DEPLOY_ROOT, 'overlays', 'dev'))), /kubectl is required to render the manifests \(\/nonexistent\/kubectl: ENOENT\)\. Install kubectl >= 1\.27/);
  // Your own kustomization has no committed render to fall back on.
  const cli = spawnSync(process.execPath, [path.join(DEPLOY_ROOT, 'dist', 'check-cli.js'), path.join(DEPLOY_ROOT, 'overlays', 'dev')], { env: { ...process.env, KUBECTL: '/nonexistent/kubectl' }, encoding: 'utf8' });
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /kubectl is required/);
});

test('a kubectl whose kustomize is too old (Debian kubernetes-client 1.20) is refused by name', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'selftrain-kubectl-'));
  try {
    const fake = path.join(dir, 'kubectl');
    writeFileSync(fake, '#!/bin/sh\necho \'{"clientVersion":{"gitVersion":"v1.20.15"},"kustomizeVersion":"v2.0.3"}\'\n');
    chmodSync(fake, 0o755);
    assert.throws(() => withKubectl(fake, () => renderKustomization(path.join(DEPLOY_ROOT, 'overlays', 'dev'))), /v1\.20\.15 bundles kustomize v2\.0\.3; the overlays need kustomize v5/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the render is every object of the overlay, parsed', () => {
  const objects = renderOverlay('cpu');
  assert.ok(objects.every((o) => o.apiVersion && o.kind && o.metadata?.name));
  assert.ok(objects.some((o) => o.kind === 'Deployment' && o.metadata.name === 'labeler'));
});

test('without a usable kubectl the checks read the committed renders instead', () => {
  const objects = withKubectl('/nonexistent/kubectl', () => renderOverlay('prod'));
  assert.ok(objects.some((o) => o.kind === 'Deployment' && o.metadata.name === 'teacher'));
});

for (const name of OVERLAYS) {
  test(`the committed render of ${name} is what kubectl renders now`, (t) => {
    const problem = kubectlProblem();
    if (problem) {
      t.skip(`${problem} The checks ran on the committed deploy/rendered/${name}.yaml.`);
      return;
    }
    const committed = readFileSync(renderedPath(name), 'utf8').replace(/^#.*\n/, '');
    assert.equal(committed, kustomizeText(path.join(DEPLOY_ROOT, 'overlays', name)), `deploy/rendered/${name}.yaml is stale: run npm run render -w @selftrain/deploy`);
  });
}
