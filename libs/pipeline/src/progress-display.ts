/**
 * One progress bar per stage on a terminal (redrawn in place), or a line every ~10 % when the output
 * is a log (CI, a Kubernetes Job).
 */
export class ProgressDisplay {
  private lastPrinted = new Map<string, number>();
  private current = '';

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  update(stage: string, done: number, total: number, detail = ''): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    if (this.out.isTTY) {
      const width = 30;
      const filled = Math.round(fraction * width);
      const line = `${stage.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${done}/${total} ${detail}`;
      this.out.write(`\r\x1b[2K${line.slice(0, (this.out.columns ?? 120) - 1)}`);
      this.current = stage;
      return;
    }
    const decile = Math.floor(fraction * 10);
    if ((this.lastPrinted.get(stage) ?? -1) < decile) {
      this.lastPrinted.set(stage, decile);
      this.out.write(`${stage}: ${Math.round(fraction * 100)}% (${done}/${total}) ${detail}\n`);
    }
  }

  finish(stage: string, summary: string): void {
    if (this.out.isTTY && this.current === stage) this.out.write('\r\x1b[2K');
    this.out.write(`${stage}: ${summary}\n`);
    this.current = '';
  }

  note(message: string): void {
    if (this.out.isTTY && this.current) this.out.write('\r\x1b[2K');
    this.out.write(`${message}\n`);
  }

  /** The same display with every stage and note prefixed (runs of an experiment side by side). */
  scoped(prefix: string): ProgressDisplay {
    const parent = this;
    return Object.assign(Object.create(ProgressDisplay.prototype) as ProgressDisplay, {
      update: (stage: string, done: number, total: number, detail?: string) => parent.update(`${prefix}${stage}`, done, total, detail),
      finish: (stage: string, summary: string) => parent.finish(`${prefix}${stage}`, summary),
      note: (message: string) => parent.note(`${prefix}${message}`),
      scoped: (more: string) => parent.scoped(`${prefix}${more}`),
    });
  }
}
