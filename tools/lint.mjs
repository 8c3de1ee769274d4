#!/usr/bin/env node
// Dependency rules for one workspace project (run from nx as each project's `lint` target):
//  - services never import another service; libs never import a service;
//  - model, augment, metrics and compute code never imports gRPC or storage;
//  - every @selftrain/* or npm import is declared in the project's package.json;
//  - no deep imports into another package's src/ or dist/, no relative path out of the project;
//  - no console.* in services (they log through pino);
//  - no import circle between the project's own files (type-only imports included: a circle of types
//    is still two files that cannot be read apart).
// Exits 1 with one line per violation, naming file and line.
import fs from 'node:fs';
import path from 'node:path';
import { builtinModules } from 'node:module';

const FORBIDDEN_FOR_PURE_CODE = [/^@grpc\//, /^grpc-health-check$/, /^minio$/, /^@20minutes\/s3rver$/, /^@selftrain\/(storage|rpc|jobs|data|pipeline)$/];
const PURE_TAGS = new Set(['type:ml', 'type:compute']);

export function lintProject(projectDir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectDir, 'package.json'), 'utf8'));
  const tags = new Set(pkg.nx?.tags ?? []);
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
  const isService = tags.has('type:service');
  const problems = [];
  /** file -> the project files it imports (relative specifiers resolved as TypeScript does). */
  const imports = new Map();
  for (const file of sourceFiles(path.join(projectDir, 'src'))) {
    imports.set(file, []);
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(projectDir, file);
    const isTest = /\.test\.ts$/.test(file) || rel.includes(`${path.sep}testing${path.sep}`);
    text.split('\n').forEach((line, i) => {
      const where = `${rel}:${i + 1}`;
      if (isService && !isTest && /\bconsole\.(log|info|warn|error|debug)\(/.test(line)) problems.push(`${where}: console.* in a service; use the pino logger`);
      if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
      for (const m of line.matchAll(/(?:^\s*(?:import|export)\b.*\bfrom\s+|^\s*\}.*\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/g)) {
        const spec = m[1];
        if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(file), spec);
          if (!target.startsWith(path.resolve(projectDir) + path.sep)) problems.push(`${where}: relative import ${spec} leaves the project; import the package instead`);
          const resolved = resolveSource(target);
          if (resolved) imports.get(file).push(resolved);
          continue;
        }
        if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        const sub = spec.slice(name.length);
        if (name.startsWith('@selftrain/') && /^\/(src|dist)(\/|$)/.test(sub)) problems.push(`${where}: deep import ${spec}; use the package's public entry`);
        if (/^@selftrain\/.*-service$/.test(name)) problems.push(`${where}: imports the service ${name}; services are never imported`);
        if ([...tags].some((t) => PURE_TAGS.has(t)) && FORBIDDEN_FOR_PURE_CODE.some((re) => re.test(name))) {
          problems.push(`${where}: ${pkg.name} (${[...tags].join(' ')}) may not import ${name}: model/augment/compute code stays free of gRPC and storage`);
        }
        if (!declared.has(name) && !(isTest && declared.has(name))) {
          if (!(isTest && name === '@types/node')) problems.push(`${where}: ${name} is not declared in ${path.join(projectDir, 'package.json')}`);
        }
      }
    });
  }
  for (const circle of importCircles(imports)) {
    problems.push(`${circle.map((f) => path.relative(projectDir, f)).join(' -> ')}: import circle between files of the project; move what both need into a file both import`);
  }
  return problems;
}

function resolveSource(target) {
  for (const candidate of [`${target}.ts`, path.join(target, 'index.ts'), target]) {
    if (/\.(ts|mts|cts)$/.test(candidate) && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/**
 * Every strongly connected group of more than one file (or a file importing itself), each as one
 * circle through it, starting at its first file in name order (Tarjan's algorithm, then a path back).
 */
export function importCircles(imports) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const groups = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of imports.get(v) ?? []) {
      if (!imports.has(w)) continue;
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const group = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); group.push(w); } while (w !== v);
      if (group.length > 1 || (imports.get(v) ?? []).includes(v)) groups.push(group);
    }
  };
  for (const v of [...imports.keys()].sort()) if (!index.has(v)) visit(v);
  return groups.map((group) => {
    const members = new Set(group);
    const start = [...group].sort()[0];
    // Breadth-first from start's imports back to start, inside the group: the shortest circle through it.
    const from = new Map([[start, null]]);
    const queue = [start];
    while (queue.length) {
      const v = queue.shift();
      for (const w of imports.get(v) ?? []) {
        if (w === start) {
          const circle = [start];
          for (let u = v; u !== start; u = from.get(u)) circle.splice(1, 0, u);
          return [...circle, start];
        }
        if (members.has(w) && !from.has(w)) { from.set(w, v); queue.push(w); }
      }
    }
    return [start, start];
  });
}

function* sourceFiles(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) { if (entry.name !== 'gen') yield* sourceFiles(full); }
    else if (/\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = path.resolve(process.argv[2] ?? '.');
  const problems = lintProject(dir);
  if (problems.length) {
    for (const p of problems) console.error(p);
    console.error(`${problems.length} dependency-rule violation(s) in ${dir}`);
    process.exit(1);
  }
  console.log(`dependency rules ok: ${path.relative(process.cwd(), dir) || '.'}`);
}
