import type { RunRecord } from '@selftrain/proto';
import type { SpecTask } from './spec';
import { metricOf } from './task-metric';

const pct = (x: number | undefined) => (x === undefined ? '-' : (100 * x).toFixed(2));

/**
 * The table a run ends with: one row per generation, and with several generations a last row `0-N`:
 * the final student against generation 0's teacher (the one trained on human labels alone).
 */
export function resultsTable(record: RunRecord): string {
  const task = ((JSON.parse(record.specJson || '{}') as { task?: SpecTask }).task ?? 'classification');
  const m = metricOf(task);
  const last = task === 'detection' ? 'pseudo boxes / image' : task === 'segmentation' ? 'pseudo ignored px' : 'pseudo-label acc (val)';
  const header = ['gen', `teacher ${m.name}`, `student ${m.name}`, 'gain', task === 'classification' ? 'pseudo kept' : 'pseudo images', last];
  const rows = record.generations.map((g) => {
    const t = m.value(g.teacherEval);
    const s = m.value(g.studentEval);
    const st = g.labelStats;
    const kept = st ? `${st.kept}/${st.records}` : '-';
    const detail = !st ? '-'
      : task === 'detection' ? (st.boxes / Math.max(1, st.kept)).toFixed(2)
        : task === 'segmentation' ? `${((100 * st.ignoredPixels) / Math.max(1, st.pixels)).toFixed(1)} %`
          : pct(g.teacherValEval?.confidentAccuracy);
    return [String(g.index), pct(t), pct(s), t !== undefined && s !== undefined ? `${s >= t ? '+' : ''}${(100 * (s - t)).toFixed(2)}` : '-', kept, detail];
  });
  // Over several generations, also the last student against the first (supervised) teacher.
  const first = m.value(record.generations[0]?.teacherEval);
  const final = m.value(record.generations.at(-1)?.studentEval);
  if (record.generations.length > 1 && first !== undefined && final !== undefined) {
    rows.push([`0-${record.generations.length - 1}`, pct(first), pct(final), `${final >= first ? '+' : ''}${(100 * (final - first)).toFixed(2)}`, '', '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
