import { status } from '@grpc/grpc-js';

/** Answers counted by status code name, per row (a service or a method). */
export class AnswerTally {
  private readonly rows = new Map<string, Map<string, number>>();

  add(row: string, code: status): void {
    const counts = this.rows.get(row) ?? new Map<string, number>();
    const name = status[code] ?? String(code);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    this.rows.set(row, counts);
  }

  count(row: string, code: status): number {
    return this.rows.get(row)?.get(status[code]) ?? 0;
  }

  total(row?: string): number {
    const rows = row ? [this.rows.get(row)] : [...this.rows.values()];
    return rows.reduce((n, r) => n + [...(r?.values() ?? [])].reduce((a, b) => a + b, 0), 0);
  }

  /** A fixed-width table: one line per row, one column per code seen, and a total line. */
  format(title: string): string {
    const codes = [...new Set([...this.rows.values()].flatMap((r) => [...r.keys()]))].sort();
    const width = Math.max(10, ...[...this.rows.keys()].map((k) => k.length));
    const head = ['', 'sent', ...codes];
    const line = (cells: (string | number)[]) => cells.map((c, i) => (i === 0 ? String(c).padEnd(width) : String(c).padStart(Math.max(6, head[i].length)))).join('  ');
    const out = [title, line(head)];
    for (const [row, counts] of [...this.rows].sort(([a], [b]) => a.localeCompare(b))) out.push(line([row, this.total(row), ...codes.map((c) => counts.get(c) ?? 0)]));
    const sum = (c: string) => [...this.rows.values()].reduce((n, r) => n + (r.get(c) ?? 0), 0);
    out.push(line(['total', this.total(), ...codes.map(sum)]));
    return out.join('\n');
  }
}
