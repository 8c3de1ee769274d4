#!/usr/bin/env node
// The `selftrain` bin (npx selftrain, npm run selftrain): a checked-in launcher, so the link npm makes at
// install time points at a file that exists before the first build; the command itself is dist/cli.js.
require('../dist/cli.js');
