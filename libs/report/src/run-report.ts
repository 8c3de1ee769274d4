// The report of one run as a single self-contained HTML page: inline CSS, inline SVG charts, inline
// data-URI images, no script and a Content-Security-Policy that forbids fetching anything.
import type { Generation, RunRecord } from '@selftrain/proto';
import { renderExperimentTable, type ExperimentTable } from './experiment-table';
import { escapeHtml } from './html-escape';
import { isFinished, renderMetricsTable } from './metrics-table';
import type { PseudoLabelSample, SampleGroup } from './pseudo-label-samples';
import { renderVegaLite, type ChartSpec } from './render-vega-lite';
import { classAcceptanceSpec, confidenceHistogramSpec, trainingCurveSpec } from './run-charts';

/**
 * Extra SVG drawn over a sample, in the image's pixel coordinates (viewBox 0 0 width height). The
 * extension point for detection boxes and segmentation masks: classification samples have none.
 */
export type SampleOverlay = (sample: PseudoLabelSample) => string;

export interface RunReportInput {
  record: RunRecord;
  /** Class names by id (default: the evaluations' class names, else "class N"). */
  classNames?: readonly string[];
  samples?: readonly SampleGroup[];
  /** Rendered as their own section when given; a plain run report has none. */
  experiments?: readonly ExperimentTable[];
  sampleOverlay?: SampleOverlay;
  /** Shown in the header (default: now). */
  generatedAt?: string;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.meta{color:#555;margin:0}.meta code{background:#eceef1;padding:0 4px;border-radius:3px}
.notice{background:#fff4ce;border:1px solid #e6c84f;padding:8px 12px;border-radius:4px}
.error{background:#fde2e1;border:1px solid #e45756;padding:8px 12px;border-radius:4px}
table.numbers{border-collapse:collapse;background:#fff}table.numbers th,table.numbers td{border:1px solid #ddd;padding:4px 8px;text-align:right}
table.numbers th{background:#eef0f3}table.numbers th.time{text-align:center}table.numbers th[scope=row]{text-align:left}td.best{font-weight:700}
.charts{display:flex;flex-wrap:wrap;align-items:flex-start;gap:12px}.chart{background:#fff;border:1px solid #ddd;border-radius:4px;padding:6px}
.chart svg{display:block}
.samples{display:grid;grid-template-columns:repeat(auto-fill,minmax(96px,1fr));gap:8px}
.sample{margin:0;background:#fff;border:1px solid #ddd;border-radius:4px;padding:6px;text-align:center}
.sample-frame{position:relative;width:84px;height:84px;margin:0 auto}
.sample-frame img{width:84px;height:84px;image-rendering:pixelated;display:block}
.sample-frame svg{position:absolute;inset:0;width:100%;height:100%}
.sample figcaption{font-size:12px;overflow-wrap:anywhere}.sample .conf{color:#666}
.note{color:#555}`;

interface Chart {
  id: string;
  title: string;
  spec: ChartSpec;
}

function labelingThreshold(record: RunRecord): number | undefined {
  try {
    const t = (JSON.parse(record.specJson || '{}') as { labeling?: { threshold?: unknown } }).labeling?.threshold;
    return typeof t === 'number' ? t : undefined;
  } catch {
    return undefined;
  }
}

function classNamesOf(record: RunRecord, given?: readonly string[]): readonly string[] {
  if (given?.length) return given;
  for (const g of record.generations) {
    for (const e of [g.teacherEval, g.studentEval, g.teacherValEval]) if (e?.classNames.length) return e.classNames;
  }
  return [];
}

function chartsOf(g: Generation, classNames: readonly string[], threshold: number | undefined): Chart[] {
  const charts: Chart[] = [];
  const curves = { teacher: g.teacherTrain, student: g.studentTrain };
  if (curves.teacher?.curve.length || curves.student?.curve.length) {
    charts.push({ id: `gen${g.index}-loss`, title: 'training loss', spec: trainingCurveSpec('loss', curves) });
    charts.push({ id: `gen${g.index}-val-top1`, title: 'validation top-1', spec: trainingCurveSpec('val_top1', curves) });
  }
  if (g.labelStats && g.labelStats.records > 0) {
    charts.push({ id: `gen${g.index}-confidence`, title: 'pseudo-label confidence', spec: confidenceHistogramSpec(g.labelStats, threshold) });
    charts.push({ id: `gen${g.index}-acceptance`, title: 'pseudo-labels per class', spec: classAcceptanceSpec(g.labelStats, classNames) });
  }
  return charts;
}

async function renderChart(c: Chart): Promise<string> {
  return `<div class="chart" data-chart="${escapeHtml(c.id)}" role="img" aria-label="${escapeHtml(c.title)}">${await renderVegaLite(c.spec)}</div>`;
}

function renderSample(s: PseudoLabelSample, classNames: readonly string[], overlay?: SampleOverlay): string {
  const name = classNames[s.classId] ?? (s.classId >= 0 ? `class ${s.classId}` : 'unlabeled');
  const conf = Number.isFinite(s.confidence) ? s.confidence.toFixed(2) : '-';
  const extra = overlay?.(s);
  return `<figure class="sample" data-key="${escapeHtml(s.key)}"><div class="sample-frame"><img src="${s.dataUri}" width="${s.width}" height="${s.height}" alt="${escapeHtml(`${s.key}: ${name}`)}">${
    extra ? `<svg viewBox="0 0 ${s.width} ${s.height}" preserveAspectRatio="none" aria-hidden="true">${extra}</svg>` : ''
  }</div><figcaption>${s.caption !== undefined ? `<span class="cls">${escapeHtml(s.caption)}</span>` : `<span class="cls">${escapeHtml(name)}</span> <span class="conf">${conf}</span>`}</figcaption></figure>`;
}

async function renderGeneration(g: Generation, input: RunReportInput, classNames: readonly string[], threshold: number | undefined): Promise<string> {
  const charts = chartsOf(g, classNames, threshold);
  const group = input.samples?.find((s) => s.generation === g.index);
  const curveCharts = charts.filter((c) => /-(loss|val-top1)$/.test(c.id));
  const labelCharts = charts.filter((c) => !curveCharts.includes(c));
  const stats = g.labelStats;
  const parts = [`<section class="generation" id="gen${g.index}">`, `<h2>Generation ${g.index}${isFinished(g) ? '' : ' (not finished)'}</h2>`];
  parts.push('<h3>Training curves</h3>');
  parts.push(curveCharts.length ? `<div class="charts">${(await Promise.all(curveCharts.map(renderChart))).join('\n')}</div>` : '<p class="note">No training curve recorded yet.</p>');
  parts.push('<h3>Pseudo-labels</h3>');
  if (stats && labelCharts.length) {
    parts.push(`<p class="note">${stats.kept} of ${stats.records} kept, ${stats.dropped} dropped${stats.duplicated ? `, ${stats.duplicated} duplicated by class balancing` : ''}${threshold !== undefined ? `; threshold ${threshold}` : ''}.</p>`);
    parts.push(`<div class="charts">${(await Promise.all(labelCharts.map(renderChart))).join('\n')}</div>`);
  } else {
    parts.push('<p class="note">No pseudo-labels recorded yet.</p>');
  }
  if (group?.samples.length) {
    parts.push(`<h3>Pseudo-labeled samples</h3><p class="note">The first ${group.samples.length} records of the generation's first pseudo-label shard(s), with the pseudo label and the teacher's confidence.</p>`);
    parts.push(`<div class="samples">${group.samples.map((s) => renderSample(s, classNames, input.sampleOverlay)).join('\n')}</div>`);
  }
  parts.push('</section>');
  return parts.join('\n');
}

export async function renderRunReport(input: RunReportInput): Promise<string> {
  const { record } = input;
  const classNames = classNamesOf(record, input.classNames);
  const threshold = labelingThreshold(record);
  const finished = record.generations.filter(isFinished).length;
  const body: string[] = [];
  body.push(`<header><h1>selftrain run ${escapeHtml(record.runId)}</h1>
<p class="meta">state <code>${escapeHtml(record.state || 'unknown')}</code> · dataset <code>${escapeHtml(record.dataset || '-')}</code> · created ${escapeHtml(record.createdAt || '-')} · updated ${escapeHtml(record.updatedAt || '-')} · report generated ${escapeHtml(input.generatedAt ?? new Date().toISOString())}</p></header>`);
  if (record.error) body.push(`<p class="error">${escapeHtml(record.error)}</p>`);
  if (finished === 0) body.push(`<p class="notice" id="no-finished-generation">No generation of this run has finished yet (run state: ${escapeHtml(record.state || 'unknown')}); what has been recorded so far is shown below.</p>`);
  body.push('<section id="results"><h2>Metrics per generation</h2>');
  body.push(record.generations.length ? renderMetricsTable(record) : '<p class="note">The run has no generation yet.</p>');
  body.push('<p class="note">Top-1 on the test split; pseudo-label accuracy: how often the teacher\'s predictions at or above the labeling threshold are right on the validation slice (right / confident).</p></section>');
  for (const g of record.generations) body.push(await renderGeneration(g, input, classNames, threshold));
  if (input.experiments?.length) {
    body.push(`<section id="experiments"><h2>Experiments</h2>\n${input.experiments.map(renderExperimentTable).join('\n')}\n</section>`);
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>selftrain report: ${escapeHtml(record.runId)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body.join('\n')}
</main>
</body>
</html>
`;
}
