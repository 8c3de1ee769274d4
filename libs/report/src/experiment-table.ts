// Experiment results as a table: rows of named configurations, values by column. Generic on purpose: a
// future `selftrain experiment` (ablations, sweeps) fills it; `selftrain report RUN` passes none.
import { escapeHtml } from './html-escape';

export type ExperimentValue = number | string | null | undefined;

export interface ExperimentColumn {
  key: string;
  /** Header text (default: the key). */
  label?: string;
  /** How numbers are shown: 'percent' multiplies fractions by 100, 'signed-percent' adds a sign (gains). */
  format?: 'number' | 'percent' | 'signed-percent' | 'seconds';
  digits?: number;
  /** Mark the best row of this column: 'max' or 'min'. */
  best?: 'max' | 'min';
}

export interface ExperimentRow {
  name: string;
  values: Record<string, ExperimentValue>;
}

export interface ExperimentTable {
  title: string;
  /** Column order; plain strings are keys shown as numbers. */
  columns: (ExperimentColumn | string)[];
  rows: ExperimentRow[];
  note?: string;
}

function formatValue(v: ExperimentValue, col: ExperimentColumn): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '-';
  if (typeof v === 'string') return v;
  const digits = col.digits ?? 2;
  switch (col.format) {
    case 'percent': return (100 * v).toFixed(digits);
    case 'signed-percent': return `${v >= 0 ? '+' : ''}${(100 * v).toFixed(digits)}`;
    case 'seconds': return `${v.toFixed(col.digits ?? 0)} s`;
    default: return Number.isInteger(v) && col.digits === undefined ? String(v) : v.toFixed(digits);
  }
}

/** One <table> per experiment table; names and values are escaped. */
export function renderExperimentTable(table: ExperimentTable): string {
  const columns = table.columns.map((c) => (typeof c === 'string' ? { key: c } : c));
  const best = new Map<string, number>();
  for (const col of columns) {
    if (!col.best) continue;
    const nums = table.rows.map((r) => r.values[col.key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (nums.length) best.set(col.key, col.best === 'max' ? Math.max(...nums) : Math.min(...nums));
  }
  const head = `<tr><th>name</th>${columns.map((c) => `<th>${escapeHtml(c.label ?? c.key)}</th>`).join('')}</tr>`;
  const body = table.rows.map((r) => `<tr><th scope="row">${escapeHtml(r.name)}</th>${columns.map((c) => {
    const v = r.values[c.key];
    const isBest = best.has(c.key) && v === best.get(c.key);
    return `<td${isBest ? ' class="best"' : ''}>${escapeHtml(formatValue(v, c))}</td>`;
  }).join('')}</tr>`).join('\n');
  return `<section class="experiment" data-experiment="${escapeHtml(table.title)}">
<h3>${escapeHtml(table.title)}</h3>
<table class="numbers">
<thead>${head}</thead>
<tbody>
${body}
</tbody>
</table>${table.note ? `\n<p class="note">${escapeHtml(table.note)}</p>` : ''}
</section>`;
}
