#!/usr/bin/env node
// The `selftrain` bin (npx selftrain, npm run selftrain): a checked-in launcher, so the link npm makes at
// install time points at a file that exists before the first build; the command itself is dist/cli.js.
const path = require('node:path');
const fs = require('node:fs');

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(`selftrain is not built yet (no ${cli}): run \`npm run build\` at the repository root first\n`);
  process.exit(1);
}
require(cli);
