// Runs the dependency rules over every workspace project at once (CI's guard that no rule is skipped).
import fs from 'node:fs';
import path from 'node:path';
import { lintProject } from './lint.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
let failed = 0;
// Every workspace the root package.json names: groups (libs/*) and single projects (deploy).
const workspaces = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces;
const projects = workspaces.flatMap((w) => {
  if (!w.endsWith('/*')) return [w];
  const group = w.slice(0, -2);
  return fs.existsSync(path.join(root, group)) ? fs.readdirSync(path.join(root, group)).map((n) => `${group}/${n}`) : [];
}).filter((p) => p !== 'tools');
for (const name of projects) {
  const dir = path.join(root, name);
  if (!fs.existsSync(path.join(dir, 'package.json'))) continue;
  const problems = lintProject(dir);
  for (const p of problems) console.error(`${name}/${p}`);
  failed += problems.length;
}
if (failed) { console.error(`${failed} dependency-rule violation(s)`); process.exit(1); }
console.log('dependency rules ok for every project');
