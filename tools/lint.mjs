#!/usr/bin/env node
// Dependency rules for one workspace project (run from nx as each project's `lint` target):
//  - a project depends only on the kinds of project its `type:*` tag allows (ALLOWED_DEPENDENCIES): libs
//    never depend on an app, a bench, a service or a test; pure code (ml, compute) on nothing with I/O;
//  - services never import another service; libs never import a service;
//  - model, augment, metrics and compute code never imports gRPC or storage;
//  - every @selftrain/* or npm import is declared in the project's package.json, and every declared
//    dependency is imported somewhere in it (or named by one of its build scripts);
//  - no deep imports into another package's src/ or dist/, no relative path out of the project;
//  - no bench (a file named bench*) outside tools/bench;
//  - no console.* in services (they log through pino);
//  - no import circle between the project's own files (type-only imports included: a circle of types
//    is still two files that cannot be read apart).
// Exits 1 with one line per violation, naming file and line.
import fs from 'node:fs';
import path from 'node:path';
import { builtinModules, createRequire } from 'node:module';

const FORBIDDEN_FOR_PURE_CODE = [/^@grpc\//, /^grpc-health-check$/, /^minio$/, /^@20minutes\/s3rver$/, /^@selftrain\/(storage|rpc|jobs|data|pipeline)$/];
const PURE_TAGS = new Set(['type:ml', 'type:compute']);

// What each kind of project may depend on, by the `type:*` tag of the dependency. Leaves first: a lib
// sits above what it may use, and nothing may use an app, a bench, a service, a test or a deploy check.
const LIBS = ['type:util', 'type:proto', 'type:compute', 'type:ml', 'type:train', 'type:storage', 'type:telemetry', 'type:rpc', 'type:data', 'type:domain', 'type:runtime', 'type:driver'];
export const ALLOWED_DEPENDENCIES = {
  'type:util': ['type:util'],
  'type:proto': [],
  'type:compute': ['type:util'],
  'type:ml': ['type:util', 'type:compute', 'type:ml'],
  'type:train': ['type:util', 'type:proto', 'type:compute', 'type:ml'],
  'type:storage': ['type:util', 'type:proto'],
  'type:telemetry': ['type:util'],
  'type:rpc': ['type:util', 'type:proto'],
  'type:data': ['type:util', 'type:proto', 'type:storage', 'type:ml'],
  'type:domain': ['type:util', 'type:proto', 'type:compute', 'type:ml', 'type:train', 'type:storage', 'type:data', 'type:domain'],
  'type:runtime': ['type:util', 'type:proto', 'type:compute', 'type:storage', 'type:telemetry', 'type:rpc', 'type:domain'],
  'type:driver': ['type:util', 'type:proto', 'type:compute', 'type:ml', 'type:train', 'type:storage', 'type:rpc', 'type:data', 'type:domain'],
  'type:service': LIBS,
  'type:app': LIBS,
  'type:bench': LIBS,
  'type:test': [...LIBS, 'type:app'],
  'type:deploy': [...LIBS, 'type:app'],
  'type:tool': [],
};

const IMPORT = /(?:^\s*(?:import|export)\b.*\bfrom\s+|^\s*\}.*\bfrom\s+|\bimport\s*\(\s*|\brequire(?:\.resolve)?\s*\(\s*|^\s*import\s+)['"`]([^'"`$]+)/g;

function packageName(spec) {
  return spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
}

/** The `type:*` tag of a workspace package, read from its package.json as the project resolves it. */
function typeTagOf(projectDir, name) {
  try {
    const file = createRequire(path.join(path.resolve(projectDir), 'package.json')).resolve(`${name}/package.json`);
    return (JSON.parse(fs.readFileSync(file, 'utf8')).nx?.tags ?? []).find((t) => t.startsWith('type:'));
  } catch {
    return undefined;
  }
}

export function lintProject(projectDir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectDir, 'package.json'), 'utf8'));
  const tags = new Set(pkg.nx?.tags ?? []);
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
  const isService = tags.has('type:service');
  const problems = [];
  /** file -> the project files it imports (relative specifiers resolved as TypeScript does). */
  const imports = new Map();
  const type = [...tags].find((t) => t.startsWith('type:'));
  if (!type || !(type in ALLOWED_DEPENDENCIES)) problems.push(`package.json: ${pkg.name} needs one type tag of ${Object.keys(ALLOWED_DEPENDENCIES).join(' ')} (nx.tags)`);
  else {
    for (const dep of [...declared].filter((d) => d.startsWith('@selftrain/'))) {
      const depType = typeTagOf(projectDir, dep);
      if (depType && !ALLOWED_DEPENDENCIES[type].includes(depType)) {
        problems.push(`package.json: ${pkg.name} (${type}) may not depend on ${dep} (${depType}); ${type} may use ${ALLOWED_DEPENDENCIES[type].join(' ') || 'no workspace package'}`);
      }
    }
  }
  const used = new Set();
  for (const file of sourceFiles(path.join(projectDir, 'src'))) {
    imports.set(file, []);
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(projectDir, file);
    if (type !== 'type:bench' && /(^|[-.])bench([-.]|$)/.test(path.basename(file))) problems.push(`${rel}: a bench in ${pkg.name}; benches live in tools/bench (@selftrain/bench), so no lib or app ships one`);
    const isTest = /\.test\.ts$/.test(file) || rel.includes(`${path.sep}testing${path.sep}`);
    text.split('\n').forEach((line, i) => {
      const where = `${rel}:${i + 1}`;
      if (isService && !isTest && /\bconsole\.(log|info|warn|error|debug)\(/.test(line)) problems.push(`${where}: console.* in a service; use the pino logger`);
      if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
      for (const m of line.matchAll(IMPORT)) {
        const spec = m[1];
        used.add(packageName(spec));
        if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(file), spec);
          if (!target.startsWith(path.resolve(projectDir) + path.sep)) problems.push(`${where}: relative import ${spec} leaves the project; import the package instead`);
          const resolved = resolveSource(target);
          if (resolved) imports.get(file).push(resolved);
          continue;
        }
        if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) continue;
        const name = packageName(spec);
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
  // Generated code (src/gen) is exempt from the rules above but its imports count as uses.
  for (const file of sourceFiles(path.join(projectDir, 'src', 'gen'), true)) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(new RegExp(IMPORT.source, 'gm'))) used.add(packageName(m[1]));
  }
  const scripts = Object.values(pkg.scripts ?? {}).join('\n');
  for (const dep of declared) {
    if (used.has(dep) || dep.startsWith('@types/') || binsOf(projectDir, dep).some((bin) => new RegExp(`(^|[\\s&;|(])${bin}\\b`).test(scripts))) continue;
    problems.push(`package.json: ${dep} is declared but never imported in ${pkg.name}; remove it`);
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

/** The command names a dependency installs (`buf` for @bufbuild/buf), for deps that only build scripts use. */
function binsOf(projectDir, name) {
  try {
    const file = createRequire(path.join(path.resolve(projectDir), 'package.json')).resolve(`${name}/package.json`);
    const bin = JSON.parse(fs.readFileSync(file, 'utf8')).bin;
    return typeof bin === 'string' ? [name.split('/').pop()] : Object.keys(bin ?? {});
  } catch {
    return [];
  }
}

function* sourceFiles(dir, includeGenerated = false) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) { if (includeGenerated || entry.name !== 'gen') yield* sourceFiles(full, includeGenerated); }
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
