// `selftrain report` on a real run: a tiny loop through the CLI (the four services as processes, one
// labeler, real Fashion-MNIST images) against an S3 server in this process, then the report opened in
// headless Chromium (Debian's, driven by playwright-core) and checked as a reader would see it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RunRecord } from '@selftrain/proto';
import { S3ObjectStore, startEmbeddedS3, type EmbeddedS3 } from '@selftrain/storage';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
// The flags this machine needs: with background networking on, Chromium's connections to Google are
// refused many at a time by the closed network.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CLI = path.join(path.dirname(require.resolve('@selftrain/cli/package.json')), 'dist', 'cli.js');
const SCREENSHOT_COPY = path.resolve(__dirname, '..', '..', '..', 'docs', 'report-screenshot.png');
const RUN = 'report-e2e';

let home: string;
let s3: EmbeddedS3;
let store: S3ObjectStore;
let env: NodeJS.ProcessEnv;

// Asynchronous: the S3 server the CLI talks to runs in this process and must keep answering.
function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}

before(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'selftrain-report-'));
  s3 = await startEmbeddedS3({ directory: path.join(home, 's3'), port: 0 });
  store = await S3ObjectStore.connect(s3.config);
  const c = s3.config;
  env = { ...process.env, SELFTRAIN_HOME: home, S3_ENDPOINT: `http://${c.endPoint}:${c.port}`, S3_BUCKET: c.bucket, S3_ACCESS_KEY: c.accessKey, S3_SECRET_KEY: c.secretKey, LOG_LEVEL: 'warn' };
  const train = { max_steps: 40, eval_every: 10, checkpoint_every: 20, batch_size: 32, warmup_steps: 5, width: 1 };
  const spec = {
    name: RUN, generations: 1,
    dataset: { prefix: 'datasets/fmnist-report', limit_train: 1400, limit_test: 300, labels_per_class: 20, val_per_class: 10, shard_size: 300 },
    teacher: { ...train, augment: 's1' }, student: { ...train, augment: 's2' },
    labeling: { threshold: 0.1, concurrency: 1, balance: false },
    local: { labelers: 1 },
  };
  writeFileSync(path.join(home, 'spec.json'), JSON.stringify(spec));
  const run = await cli(['run', path.join(home, 'spec.json')]);
  assert.equal(run.status, 0, `selftrain run failed:\n${run.stderr}`);
});

after(async () => {
  store?.close();
  await s3?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

test('report on an unknown run exits 1 naming the run and the bucket', async () => {
  const r = await cli(['report', 'no-such-run']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`no run no-such-run in bucket ${s3.config.bucket}`));
});

test('report on a run with no finished generation says so', async () => {
  const record = RunRecord.fromJSON(await store.getJson(`runs/${RUN}/run.json`));
  const g = record.generations[0];
  const partial: RunRecord = { ...record, runId: 'report-partial', state: 'running', generations: [{ ...g, student: { ...g.student!, state: 'running' }, evaluation: undefined, studentEval: undefined, studentTrain: undefined }] };
  await store.putJson('runs/report-partial/run.json', RunRecord.toJSON(partial));
  const out = path.join(home, 'partial.html');
  const r = await cli(['report', 'report-partial', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), out);
  assert.match(readFileSync(out, 'utf8'), /No generation of this run has finished yet \(run state: running\)/);
});

test('the report of a real run renders in Chromium: charts with marks, every sample image, no errors', async (t) => {
  const r = await cli(['report', RUN]);
  assert.equal(r.status, 0, r.stderr);
  const file = path.join(home, 'reports', `${RUN}.html`);
  assert.equal(r.stdout.trim(), file, 'the default path under SELFTRAIN_HOME, printed');
  const html = readFileSync(file, 'utf8');
  assert.match(html, /<td>1100\/1100<\/td>/, 'threshold 0.1 keeps every record');

  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (the README's set-up line installs it)`);
  const profile = mkdtempSync(path.join(home, 'chromium-profile-'));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1200, height: 900 } });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  const fetched: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (req) => fetched.push(req.url()));
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });

  const charts = await page.$$eval('.chart', (els) => els.map((el) => {
    const svg = el.querySelector(':scope > svg');
    const box = svg?.getBoundingClientRect();
    return { id: el.getAttribute('data-chart'), svg: !!svg, marks: el.querySelectorAll('.role-mark path, .role-mark line').length, width: box?.width ?? 0, height: box?.height ?? 0 };
  }));
  assert.deepEqual(charts.map((c) => c.id), ['gen0-loss', 'gen0-val-top1', 'gen0-confidence', 'gen0-acceptance']);
  for (const c of charts) {
    assert.ok(c.svg, `${c.id} holds an <svg>`);
    assert.ok(c.marks > 0, `${c.id} has marks`);
    assert.ok(c.width > 100 && c.height > 100, `${c.id} is laid out (${c.width}x${c.height})`);
  }
  const lines = await page.$$eval('[data-chart="gen0-loss"] .mark-line.role-mark path', (els) => els.length);
  assert.equal(lines, 2, 'teacher and student loss curves');
  assert.equal(await page.$$eval('[data-chart="gen0-acceptance"] .mark-rect.role-mark path', (els) => els.length), 20);

  const images = await page.$$eval('.sample img', (els) => els.map((img) => ({ complete: (img as HTMLImageElement).complete, w: (img as HTMLImageElement).naturalWidth, h: (img as HTMLImageElement).naturalHeight })));
  assert.equal(images.length, 16);
  for (const [i, img] of images.entries()) assert.ok(img.complete && img.w === 28 && img.h === 28, `sample ${i} decoded: ${JSON.stringify(img)}`);
  const captions = await page.$$eval('.sample figcaption .cls', (els) => els.map((e) => e.textContent ?? ''));
  const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  assert.ok(captions.every((c) => names.includes(c)), `captions are class names: ${captions.join(', ')}`);

  assert.deepEqual(problems, []);
  assert.deepEqual(fetched.filter((u) => u !== url && !u.startsWith('data:')), [], 'nothing fetched but the file itself');

  const shot = path.join(home, 'report.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(readFileSync(shot).length > 10_000, 'a real screenshot');
  // The README's picture is refreshed on request only, so a test run leaves the tree clean.
  if (process.env.UPDATE_REPORT_SCREENSHOT) {
    mkdirSync(path.dirname(SCREENSHOT_COPY), { recursive: true });
    copyFileSync(shot, SCREENSHOT_COPY);
  }
});
