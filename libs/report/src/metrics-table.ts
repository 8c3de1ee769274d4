// The results table of a run (teacher / student top-1, gain, pseudo-labels, pseudo-label accuracy on the
// validation slice) with each stage's time.
import type { Generation, RunRecord, Stage } from '@selftrain/proto';
import { escapeHtml } from './html-escape';

const pct = (x: number | undefined) => (x === undefined ? '-' : (100 * x).toFixed(2));
const secs = (s: Stage | undefined) => (s?.state === 'succeeded' && s.seconds > 0 ? `${s.seconds.toFixed(0)} s` : s?.state && s.state !== 'succeeded' ? s.state : '-');

/** Finished = its evaluation stage succeeded (both top-1 figures are in). */
export function isFinished(g: Generation): boolean {
  return g.evaluation?.state === 'succeeded';
}

export function metricsRows(record: RunRecord): string[][] {
  return record.generations.map((g) => {
    const t = g.teacherEval?.top1;
    const s = g.studentEval?.top1;
    const gain = t !== undefined && s !== undefined ? `${s >= t ? '+' : ''}${(100 * (s - t)).toFixed(2)}` : '-';
    const kept = g.labelStats ? `${g.labelStats.kept}/${g.labelStats.records}` : '-';
    const v = g.teacherValEval;
    const pseudoAcc = v ? `${pct(v.confidentAccuracy)} (${v.confidentCount}/${v.count})` : '-';
    return [String(g.index), pct(t), pct(s), gain, kept, pseudoAcc, secs(g.teacher), secs(g.labeling), secs(g.student), secs(g.evaluation)];
  });
}

export const METRICS_HEADER = ['gen', 'teacher top-1', 'student top-1', 'gain', 'pseudo kept', 'pseudo-label acc (val)', 'teacher', 'labeling', 'student', 'evaluation'];

export function renderMetricsTable(record: RunRecord): string {
  const head = `<tr>${METRICS_HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const rows = metricsRows(record).map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="numbers" id="metrics">
<thead><tr><th colspan="6"></th><th colspan="4" class="time">stage time</th></tr>${head}</thead>
<tbody>
${rows}
</tbody>
</table>`;
}
