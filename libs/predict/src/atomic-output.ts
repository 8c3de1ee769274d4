// Outputs appear whole or not at all: written under a temporary name beside the final one and renamed
// into place at the end, so an interrupted or failed predict leaves no file a reader could take for a
// finished result (only the temporary, which it removes on the way out when it can).
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { InputError } from '@selftrain/errors';

const partialName = (final: string) => path.join(path.dirname(final), `.${path.basename(final)}.partial-${process.pid}`);

/** A text file written as a stream and renamed to `final` on commit. */
export class AtomicFile {
  private readonly temp: string;
  private readonly stream: WriteStream;
  private failed: Error | undefined;

  private constructor(readonly final: string) {
    this.temp = partialName(final);
    this.stream = createWriteStream(this.temp);
    this.stream.on('error', (err) => { this.failed = err; });
  }

  static async open(final: string): Promise<AtomicFile> {
    await mkdir(path.dirname(path.resolve(final)), { recursive: true });
    return new AtomicFile(path.resolve(final));
  }

  /** Appends text, waiting when the stream's buffer is full (memory stays flat however many images). */
  async write(text: string): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.stream.write(text)) await new Promise<void>((resolve, reject) => {
      this.stream.once('drain', resolve);
      this.stream.once('error', reject);
    });
  }

  async commit(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw this.failed;
    await rename(this.temp, this.final);
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    await rm(this.temp, { force: true });
  }
}

/** A directory filled under a temporary name and renamed to `final` on commit; `final` must not hold anything yet. */
export class AtomicDirectory {
  private constructor(readonly final: string, readonly temp: string) {}

  static async open(final: string, field: string): Promise<AtomicDirectory> {
    const dir = path.resolve(final);
    await requireEmptyOrAbsent(dir, field);
    const temp = partialName(dir);
    await rm(temp, { recursive: true, force: true });
    await mkdir(temp, { recursive: true });
    return new AtomicDirectory(dir, temp);
  }

  async commit(): Promise<void> {
    await requireEmptyOrAbsent(this.final, 'out');
    await rmdir(this.final).catch(() => undefined);
    await rename(this.temp, this.final);
  }

  async abort(): Promise<void> {
    await rm(this.temp, { recursive: true, force: true });
  }
}

async function requireEmptyOrAbsent(dir: string, field: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory() || (await readdir(dir)).length > 0) throw new InputError(field, `${dir} already exists and is not an empty directory; give a new one (masks are written whole or not at all)`);
}
