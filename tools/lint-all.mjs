// Runs the dependency rules over every workspace project at once (CI's guard that no rule is skipped).
import fs from 'node:fs';
import path from 'node:path';
import { lintProject } from './lint.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
let failed = 0;
for (const group of ['libs', 'services']) {
  for (const name of fs.readdirSync(path.join(root, group))) {
    const dir = path.join(root, group, name);
    if (!fs.existsSync(path.join(dir, 'package.json'))) continue;
    const problems = lintProject(dir);
    for (const p of problems) console.error(`${group}/${name}/${p}`);
    failed += problems.length;
  }
}
if (failed) { console.error(`${failed} dependency-rule violation(s)`); process.exit(1); }
console.log('dependency rules ok for every project');
