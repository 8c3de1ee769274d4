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
