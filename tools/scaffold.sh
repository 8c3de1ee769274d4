#!/usr/bin/env bash
# Creates an empty workspace package: tools/scaffold.sh libs/NAME "type:x scope:y" "dep1 dep2" "@selftrain/a @selftrain/b"
set -eu
dir=$1; tags=$2; deps=${3:-}; internal=${4:-}
name=@selftrain/$(basename "$dir")
mkdir -p "$dir/src"
node - "$dir" "$name" "$tags" "$deps" "$internal" <<'JS'
const fs = require('fs'); const path = require('path');
const [dir, name, tags, deps, internal] = process.argv.slice(2);
const root = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const all = { ...root.dependencies, ...root.devDependencies };
const dependencies = {};
for (const d of internal.split(' ').filter(Boolean)) dependencies[d] = '0.1.0';
for (const d of deps.split(' ').filter(Boolean)) dependencies[d] = all[d];
const pkg = {
  name, version: '0.1.0', private: true, main: 'dist/index.js', types: 'dist/index.d.ts',
  scripts: {
    build: 'tsc -b',
    test: 'node --test --test-reporter=spec --test-concurrency=1',
    lint: 'node ../../tools/lint.mjs .'
  },
  dependencies,
  nx: { tags: tags.split(' ').filter(Boolean) }
};
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
const refs = internal.split(' ').filter(Boolean).map(d => ({ path: '../../libs/' + d.split('/')[1] }));
const ts = { extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/tsconfig.tsbuildinfo' }, include: ['src/**/*.ts'], references: refs };
fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(ts, null, 2) + '\n');
JS
[ -f "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"
