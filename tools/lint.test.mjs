import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lintProject } from './lint.mjs';

function project(tags, deps, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lint-'));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@selftrain/x', dependencies: Object.fromEntries(deps.map((d) => [d, '1'])), nx: { tags } }));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'src', name), text);
  return dir;
}

test('a clean project passes', () => {
  assert.deepEqual(lintProject(project(['type:ml'], ['@tensorflow/tfjs'], { 'a.ts': "import * as tf from '@tensorflow/tfjs';\nimport { b } from './b';\n" })), []);
});

test('model/augment code may not import gRPC or storage', () => {
  const problems = lintProject(project(['type:ml'], ['@grpc/grpc-js', '@selftrain/storage'], { 'a.ts': "import { Server } from '@grpc/grpc-js';\nimport { S3ObjectStore } from '@selftrain/storage';\n" }));
  assert.equal(problems.length, 2);
  assert.match(problems[0], /a\.ts:1: .* may not import @grpc\/grpc-js/);
});

test('services never import services; undeclared, deep and escaping imports are caught', () => {
  const problems = lintProject(project(['type:service'], ['@selftrain/teacher-service', '@selftrain/rpc'], {
    'a.ts': "import { x } from '@selftrain/teacher-service';\nimport { y } from '@selftrain/rpc/src/server';\nimport { z } from 'minio';\nimport { w } from '../../libs/rpc/src';\nconsole.log('hi');\n",
  }));
  assert.ok(problems.some((p) => /imports the service @selftrain\/teacher-service/.test(p)));
  assert.ok(problems.some((p) => /deep import @selftrain\/rpc\/src\/server/.test(p)));
  assert.ok(problems.some((p) => /minio is not declared/.test(p)));
  assert.ok(problems.some((p) => /leaves the project/.test(p)));
  assert.ok(problems.some((p) => /console\.\* in a service/.test(p)));
});

test('an import circle between files of a project is caught, type-only imports included; a chain is not', () => {
  const circle = lintProject(project(['type:ml'], [], {
    'a.ts': "import { b } from './b';\nexport const a = 1;\n",
    'b.ts': "import type { C } from './c';\nexport const b = 2;\n",
    'c.ts': "import { a } from './a';\nexport type C = number;\n",
    'd.ts': "import { a } from './a';\n",
  }));
  assert.deepEqual(circle, [`${path.join('src', 'a.ts')} -> ${path.join('src', 'b.ts')} -> ${path.join('src', 'c.ts')} -> ${path.join('src', 'a.ts')}: import circle between files of the project; move what both need into a file both import`]);
  assert.deepEqual(lintProject(project(['type:ml'], [], {
    'a.ts': "import { b } from './b';\n", 'b.ts': "import { c } from './c';\n", 'c.ts': 'export const c = 1;\n',
  })), []);
});

/** A workspace package the project can resolve (node_modules/NAME/package.json), tagged like a real one. */
function installed(dir, name, tags) {
  const pkgDir = path.join(dir, 'node_modules', ...name.split('/'));
  fs.mkdirSync(pkgDir, { recursive: true });
  fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify({ name, nx: { tags } }));
}

test('a lib may depend only on the kinds of project its type tag allows', () => {
  const dir = project(['type:domain', 'scope:shared'], ['@selftrain/an-app', '@selftrain/a-util'], {
    'a.ts': "import { run } from '@selftrain/an-app';\nimport { x } from '@selftrain/a-util';\n",
  });
  installed(dir, '@selftrain/an-app', ['type:app']);
  installed(dir, '@selftrain/a-util', ['type:util']);
  const problems = lintProject(dir);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], /@selftrain\/x \(type:domain\) may not depend on @selftrain\/an-app \(type:app\)/);
  // Pure code sits low: an ml lib may not use storage, whatever it imports.
  const ml = project(['type:ml'], ['@selftrain/a-store'], { 'a.ts': "import type { S } from '@selftrain/a-store';\n" });
  installed(ml, '@selftrain/a-store', ['type:storage']);
  assert.ok(lintProject(ml).some((p) => /\(type:ml\) may not depend on @selftrain\/a-store \(type:storage\)/.test(p)));
});

test('a project without a known type tag is named', () => {
  const problems = lintProject(project(['scope:shared'], [], { 'a.ts': 'export const a = 1;\n' }));
  assert.equal(problems.length, 1);
  assert.match(problems[0], /needs one type tag/);
});

test('a declared dependency that nothing imports is reported; a test import, a dynamic import or a build script counts', () => {
  const problems = lintProject(project(['type:ml'], ['@tensorflow/tfjs', 'pngjs', 'yaml', 'kubernetes-models'], {
    'a.ts': "import * as tf from '@tensorflow/tfjs';\nexport const load = (v: string) => import(`kubernetes-models/${v}`);\n",
    'a.test.ts': "import { parse } from 'yaml';\n",
  }));
  assert.deepEqual(problems.map((p) => p.replace(/^.*?: /, '')), ['pngjs is declared but never imported in @selftrain/x; remove it']);
});

test('a bench outside tools/bench is named', () => {
  const problems = lintProject(project(['type:domain'], [], { 'bench-labeling.ts': 'export const a = 1;\n', 'benchmark-free.ts': 'export const b = 1;\n' }));
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], /bench-labeling\.ts: a bench in @selftrain\/x; benches live in tools\/bench/);
  assert.deepEqual(lintProject(project(['type:bench'], [], { 'bench-labeling.ts': 'export const a = 1;\n' })), []);
});
