#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEPLOY_ROOT, kustomizeText, OVERLAYS, RENDERED_DIR, renderedPath } from './render-overlay';

/* `npm run render -w @selftrain/deploy`: writes every overlay's `kubectl kustomize` output to deploy/rendered/. */
mkdirSync(RENDERED_DIR, { recursive: true });
for (const name of OVERLAYS) {
  const text = kustomizeText(path.join(DEPLOY_ROOT, 'overlays', name));
  writeFileSync(renderedPath(name), `# Rendered by \`npm run render -w @selftrain/deploy\` from deploy/overlays/${name}; do not edit.\n${text}`);
  process.stdout.write(`${renderedPath(name)}\n`);
}
