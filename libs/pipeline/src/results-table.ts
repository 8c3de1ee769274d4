import type { RunRecord } from '@selftrain/proto';

const pct = (x: number | undefined) => (x === undefined ? '-' : (100 * x).toFixed(2));

/** The table a run ends with: one row per generation. */
export function resultsTable(record: RunRecord): string {
  const header = ['gen', 'teacher top-1', 'student top-1', 'gain', 'pseudo kept', 'pseudo-label acc (val)'];
  const rows = record.generations.map((g) => {
    const t = g.teacherEval?.top1;
    const s = g.studentEval?.top1;
    const kept = g.labelStats ? `${g.labelStats.kept}/${g.labelStats.records}` : '-';
    return [String(g.index), pct(t), pct(s), t !== undefined && s !== undefined ? `${s >= t ? '+' : ''}${(100 * (s - t)).toFixed(2)}` : '-', kept, pct(g.teacherValEval?.confidentAccuracy)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
