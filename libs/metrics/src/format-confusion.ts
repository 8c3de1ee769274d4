import { perClassAccuracy } from './per-class-accuracy.js';

export interface FormatConfusionOptions {
  /** Longer class names are cut to this many characters (default 12). */
  maxNameWidth?: number;
}

/**
 * Fixed-width text table for CLIs: rows are true classes, columns predicted classes, plus a final
 * per-class accuracy column ("-" for classes with no examples).
 */
export function formatConfusion(
  confusion: readonly (readonly number[])[],
  classNames?: readonly string[],
  opts: FormatConfusionOptions = {},
): string {
  const k = confusion.length;
  if (confusion.some((row) => row.length !== k)) throw new Error(`confusion must be square, got ${k} rows of unequal length`);
  if (classNames && classNames.length !== k) {
    throw new Error(`classNames has ${classNames.length} names but confusion has ${k} classes`);
  }
  const maxName = opts.maxNameWidth ?? 12;
  const names = Array.from({ length: k }, (_, i) => (classNames ? classNames[i] : String(i)).slice(0, maxName));
  const corner = 'true\\pred';
  const acc = perClassAccuracy(confusion);
  const rowSums = confusion.map((row) => row.reduce((s, v) => s + v, 0));
  const accCells = acc.map((a, i) => (rowSums[i] > 0 ? `${(100 * a).toFixed(1)}%` : '-'));
  const labelWidth = Math.max(corner.length, ...names.map((n) => n.length));
  const cellWidth = Math.max(...names.map((n) => n.length), ...confusion.flat().map((v) => String(v).length));
  const accWidth = Math.max(3, ...accCells.map((c) => c.length));
  const lines = [
    [corner.padEnd(labelWidth), ...names.map((n) => n.padStart(cellWidth)), 'acc'.padStart(accWidth)].join('  '),
  ];
  confusion.forEach((row, i) => {
    lines.push(
      [names[i].padEnd(labelWidth), ...row.map((v) => String(v).padStart(cellWidth)), accCells[i].padStart(accWidth)].join('  '),
    );
  });
  return lines.map((l) => l.trimEnd()).join('\n');
}
