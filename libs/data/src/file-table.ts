// The files an image ingest lists, held compactly: their names in one growing byte buffer, where each name
// ends and its class in typed arrays. About 8 bytes a file plus its name's UTF-8 (~25 bytes for a CIFAR-10
// file), against ~230 bytes as {rel, label} objects and the arrays that held them: measured, 135 MiB for
// 600,000 files, most of an ingest's RSS at ten times CIFAR-10's size.

const FIRST_FILES = 1024;

export class FileTable {
  private names = Buffer.alloc(FIRST_FILES * 16);
  private used = 0;
  private ends = new Uint32Array(FIRST_FILES);
  private labels = new Int32Array(FIRST_FILES);
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** Appends a file: `rel` relative to its root, `/`-separated; `label` its class index or -1. */
  push(rel: string, label: number): void {
    const bytes = Buffer.byteLength(rel, 'utf8');
    if (this.used + bytes > this.names.length) {
      const names = Buffer.alloc(Math.max(2 * this.names.length, this.used + bytes));
      this.names.copy(names, 0, 0, this.used);
      this.names = names;
    }
    if (this.count === this.ends.length) {
      const ends = new Uint32Array(2 * this.count);
      ends.set(this.ends);
      this.ends = ends;
      const labels = new Int32Array(2 * this.count);
      labels.set(this.labels);
      this.labels = labels;
    }
    this.used += this.names.write(rel, this.used, bytes, 'utf8');
    this.ends[this.count] = this.used;
    this.labels[this.count++] = label;
  }

  rel(i: number): string {
    return this.names.toString('utf8', i === 0 ? 0 : this.ends[i - 1], this.ends[i]);
  }

  label(i: number): number {
    return this.labels[i];
  }

  /** Every label passed through `map` (a test folder's classes renumbered as the labeled folder's). */
  relabel(map: (label: number) => number): void {
    for (let i = 0; i < this.count; i++) this.labels[i] = map(this.labels[i]);
  }
}
