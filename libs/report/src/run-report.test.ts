import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { writeShard, type ImageRecord } from '@selftrain/data';
import { RunRecord, type Generation, type LabelStats, type TrainResult } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { loadPseudoLabelSamples, sampleFromRecord } from './pseudo-label-samples';
import { renderRunReport } from './run-report';
import type { ExperimentTable } from './experiment-table';

const EVIL_CLASS = '<b>T&"shirt"</b>';
const CLASSES = [EVIL_CLASS, 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const curve = (points: number): TrainResult => ({
  bestCheckpoint: undefined, lastCheckpoint: undefined, bestValTop1: 0.6, steps: points * 10, backend: 'wasm', imagesPerSecond: 100, resumedFromStep: 0,
  curve: Array.from({ length: points }, (_, i) => ({ step: (i + 1) * 10, loss: 2 - i * 0.3, valTop1: 0.3 + i * 0.1, learningRate: 0.1 })),
});

const stats: LabelStats = {
  records: 1100, kept: 1000, dropped: 100, duplicated: 0,
  keptPerClass: [100, 110, 90, 100, 100, 100, 100, 100, 100, 100], droppedPerClass: [10, 0, 20, 10, 10, 10, 10, 10, 10, 10],
  confidenceHistogram: [0, 50, 100, 150, 150, 150, 150, 150, 100, 100],
  boxes: 0, imagesWithBoxes: 0, pixels: 0, ignoredPixels: 0,
};

const stage = (seconds: number) => ({ state: 'succeeded', jobId: 'j', startedAt: 'a', finishedAt: 'b', outputs: [], inputs: [], error: '', seconds, backend: 'wasm' });
const evaluation = (top1: number) => ({ top1, perClassAccuracy: [], confusion: [], numClasses: 10, count: 300, classNames: CLASSES, checkpointSha256: '', confidentCount: 80, confidentAccuracy: 0.9, backend: 'wasm' });

function generation(index: number, finished = true): Generation {
  return {
    index, teacher: stage(12), labeling: stage(3), student: finished ? stage(30) : { ...stage(0), state: 'running' }, evaluation: finished ? stage(2) : undefined,
    teacherCheckpoint: undefined, studentCheckpoint: undefined, teacherEval: evaluation(0.5), studentEval: finished ? evaluation(0.56) : undefined,
    teacherValEval: evaluation(0.5), pseudoShards: [], labelStats: stats, teacherTrain: curve(3), studentTrain: finished ? curve(4) : undefined,
  };
}

function record(generations: Generation[], runId = 'run-<x>&"y"'): RunRecord {
  return RunRecord.fromPartial({ runId, specJson: JSON.stringify({ labeling: { threshold: 0.5 } }), dataset: 'datasets/fm', state: 'succeeded', generations });
}

/** The leaf mark groups of one type in an SVG, each with its number of drawn items. */
function markGroups(svg: string, type: string): number[] {
  return [...svg.matchAll(new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>(.*?)</g>`, 'gs'))].map((m) => (m[1].match(/<(path|line)\b/g) ?? []).length);
}

function charts(html: string): Map<string, string> {
  return new Map([...html.matchAll(/<div class="chart" data-chart="([^"]+)"[^>]*>(<svg.*?<\/svg>)<\/div>/gs)].map((m) => [m[1], m[2]]));
}

const NAMESPACES = new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']);

function assertSelfContained(html: string) {
  const urls = [...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*/gi)].map((m) => m[0]).filter((u) => !NAMESPACES.has(u));
  assert.deepEqual(urls, [], 'no external URL');
  assert.doesNotMatch(html, /<script|<link\b|<iframe|@import|url\(/i, 'nothing that loads or runs');
  for (const m of html.matchAll(/\b(?:src|href)="([^"]*)"/g)) assert.match(m[1], /^(data:image\/png;base64,|#)/, `only data URIs or fragments: ${m[1].slice(0, 40)}`);
}

test('charts are vega SVG: two curve series, ten histogram bins, kept+dropped bars for ten classes', async () => {
  const html = await renderRunReport({ record: record([generation(0)]) });
  const c = charts(html);
  assert.deepEqual([...c.keys()], ['gen0-loss', 'gen0-val-top1', 'gen0-confidence', 'gen0-acceptance']);
  for (const [id, svg] of c) assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/, id);
  // One line per role (teacher 3 points, student 4; vega draws each series in its own group), with a
  // point symbol per curve point.
  for (const id of ['gen0-loss', 'gen0-val-top1']) {
    assert.deepEqual(markGroups(c.get(id)!, 'line'), [1, 1], id);
    assert.deepEqual(markGroups(c.get(id)!, 'symbol'), [7], id);
  }
  assert.deepEqual(markGroups(c.get('gen0-confidence')!, 'rect'), [10]);
  assert.deepEqual(markGroups(c.get('gen0-confidence')!, 'rule'), [1], 'the labeling threshold');
  assert.deepEqual(markGroups(c.get('gen0-acceptance')!, 'rect'), [20]);
  // The axis of the acceptance chart names every class, in class order.
  const labels = [...c.get('gen0-acceptance')!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.ok(labels.includes('Ankle boot') && labels.includes('Trouser'));
  assertSelfContained(html);
});

test('the metrics table has one row per generation with gain, pseudo-label figures and stage times', async () => {
  const html = await renderRunReport({ record: record([generation(0), generation(1)]) });
  const rows = [...html.matchAll(/<tr><td>(.*?)<\/td><\/tr>/g)].map((m) => m[1].split('</td><td>'));
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0], ['0', '50.00', '56.00', '+6.00', '1000/1100', '90.00 (80/300)', '12 s', '3 s', '30 s', '2 s']);
  assert.doesNotMatch(html, /no-finished-generation/);
  assert.equal(charts(html).size, 8);
});

test('names from outside are escaped in HTML and in the SVG', async () => {
  const html = await renderRunReport({ record: record([generation(0)]) });
  assert.ok(!html.includes(EVIL_CLASS) && !html.includes('<b>') && !html.includes('run-<x>'));
  assert.ok(html.includes('run-&lt;x&gt;&amp;&quot;y&quot;'), 'run id escaped');
  assert.ok(html.includes('&lt;b&gt;T&amp;'), 'class name escaped inside the chart');
});

test('a run with no finished generation says so, and one with no generation at all renders', async () => {
  const partial = await renderRunReport({ record: { ...record([generation(0, false)]), state: 'running' } });
  assert.match(partial, /id="no-finished-generation"[^>]*>No generation of this run has finished yet \(run state: running\)/);
  assert.match(partial, /Generation 0 \(not finished\)/);
  // The teacher's curve alone: one series.
  assert.deepEqual(markGroups(charts(partial).get('gen0-loss')!, 'line'), [1]);
  assert.deepEqual(markGroups(charts(partial).get('gen0-loss')!, 'symbol'), [3]);
  const empty = await renderRunReport({ record: { ...record([]), state: 'failed', error: 'teacher: <boom>' } });
  assert.match(empty, /No generation of this run has finished yet \(run state: failed\)/);
  assert.match(empty, /teacher: &lt;boom&gt;/);
  assert.equal(charts(empty).size, 0);
  assertSelfContained(empty);
});

test('experiment tables render only when given: escaped names, formats, best value marked', async () => {
  const plain = await renderRunReport({ record: record([generation(0)]) });
  assert.doesNotMatch(plain, /id="experiments"/);
  const table: ExperimentTable = {
    title: 'augment <ablation>',
    columns: [{ key: 'student', label: 'student top-1', format: 'percent', best: 'max' }, { key: 'gain', format: 'signed-percent' }, 'steps', { key: 'secs', format: 'seconds' }],
    rows: [{ name: 's1 & <b>', values: { student: 0.81, gain: 0.01, steps: 400, secs: 61.2 } }, { name: 's4', values: { student: 0.845, gain: -0.002, steps: 400 } }],
    note: 'same seed',
  };
  const html = await renderRunReport({ record: record([generation(0)]), experiments: [table] });
  const section = html.slice(html.indexOf('<section id="experiments">'));
  assert.match(section, /<h3>augment &lt;ablation&gt;<\/h3>/);
  assert.match(section, /<th scope="row">s1 &amp; &lt;b&gt;<\/th><td>81.00<\/td><td>\+1.00<\/td><td>400<\/td><td>61 s<\/td>/);
  assert.match(section, /<th scope="row">s4<\/th><td class="best">84.50<\/td><td>-0.20<\/td><td>400<\/td><td>-<\/td>/);
  assertSelfContained(html);
});

function rawRecord(i: number, extra: Partial<ImageRecord> = {}): ImageRecord {
  return { key: `u-${i}`, image: Uint8Array.from({ length: 28 * 28 }, (_, p) => (p * (i + 1)) % 256), height: 28, width: 28, channels: 1, label: i % 10, confidence: 0.5 + i / 100, ...extra };
}

test('samples: PNG data URIs from the first pseudo shard(s), labels and confidences, overlay hook', async () => {
  // Raw pixels alone are encoded; a record's own PNG is passed through unchanged.
  const raw = sampleFromRecord(rawRecord(3), 's');
  const png = PNG.sync.read(Buffer.from(raw.dataUri.split(',')[1], 'base64'));
  assert.equal(png.width, 28);
  assert.equal(png.data[4 * 5], (5 * 4) % 256, 'the pixels survive');
  const own = PNG.sync.write({ width: 28, height: 28, data: Buffer.alloc(28 * 28 * 4, 200) } as PNG);
  assert.equal(sampleFromRecord(rawRecord(1, { encoded: own }), 's').dataUri, `data:image/png;base64,${own.toString('base64')}`);
  const soft = sampleFromRecord(rawRecord(2, { label: undefined, confidence: undefined, probabilities: Float32Array.from([0.1, 0.7, 0.2]) }), 's');
  assert.equal(soft.classId, 1);
  assert.ok(Math.abs(soft.confidence - 0.7) < 1e-6);

  const objects = new Map<string, Buffer>([
    ['p/a.tfrecord', writeShard([0, 1, 2].map((i) => rawRecord(i)))],
    ['p/b.tfrecord', writeShard([3, 4, 5].map((i) => rawRecord(i)))],
  ]);
  const reads: string[] = [];
  const store = { bucket: 'b', get: async (k: string) => { reads.push(k); return objects.get(k)!; } } as unknown as ObjectStore;
  const shard = (key: string) => ({ key, records: 3, sha256: '', sizeBytes: 0 });
  const g = { ...generation(0), pseudoShards: [shard('p/a.tfrecord'), shard('p/b.tfrecord'), shard('p/c.tfrecord')] };
  const rec = record([g, { ...generation(1), pseudoShards: [] }]);
  const groups = await loadPseudoLabelSamples(store, rec, { perGeneration: 4 });
  assert.deepEqual(reads, ['p/a.tfrecord', 'p/b.tfrecord'], 'stops reading once it has enough');
  assert.deepEqual(groups.map((x) => [x.generation, x.samples.map((s) => s.key)]), [[0, ['u-0', 'u-1', 'u-2', 'u-3']]]);

  const html = await renderRunReport({ record: rec, samples: groups, sampleOverlay: (s) => (s.key === 'u-1' ? '<rect x="2" y="2" width="10" height="10" fill="none" stroke="red"/>' : '') });
  const figures = [...html.matchAll(/<figure class="sample" data-key="([^"]+)">(.*?)<\/figure>/gs)];
  assert.equal(figures.length, 4);
  assert.match(figures[1][2], /<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" width="28" height="28"/);
  assert.match(figures[1][2], /<span class="cls">Trouser<\/span> <span class="conf">0.51<\/span>/);
  assert.match(figures[0][2], /<span class="cls">&lt;b&gt;T&amp;&quot;shirt&quot;&lt;\/b&gt;<\/span>/);
  assert.match(figures[1][2], /<svg viewBox="0 0 28 28"[^>]*><rect x="2"/, 'the overlay is drawn over the image');
  assert.doesNotMatch(figures[0][2], /<svg/, 'no overlay, no svg');
  assertSelfContained(html);
});
