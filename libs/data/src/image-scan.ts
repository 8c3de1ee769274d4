// The first pass of an image ingest: every file read once, in order, before anything is written. It keys the
// dataset by content (relative path, size and sha256 of each file), refuses what can be refused from the
// bytes alone (empty files, files that are not JPEG / PNG / WebP, images under MIN_IMAGE_SIDE), and notes
// the labeled images' sizes and colour so the dataset's size and channels can default to theirs.
import { createHash, type Hash } from 'node:crypto';
import { InputError } from '@selftrain/errors';
import type { SkippedFile } from '@selftrain/proto';
import { decodeImage, MIN_IMAGE_SIDE, sniffImageFormat } from './image-decode';
import { readImageHeader } from './image-header';
import { FileTable } from './file-table';
import type { ImageRoot } from './image-sources';
import { forEachOrdered } from './ordered-window';

/** Files read at once: enough to keep a disk or a bucket busy, few enough that memory does not grow with the file count. */
const READS_IN_FLIGHT = 32;

/** What the labeled images' headers say, for the dataset's default size and channels. */
export class HeaderSurvey {
  size: { height: number; width: number } | undefined;
  /** A file whose size differs from `size` (and the file that set it), when one does. */
  mismatch: { file: string; height: number; width: number; first: string } | undefined;
  allGrey = true;
  private firstFile = '';

  note(file: string, h: { height: number; width: number; grey: boolean }): void {
    if (!h.grey) this.allGrey = false;
    if (!this.size) {
      this.size = { height: h.height, width: h.width };
      this.firstFile = file;
    } else if (!this.mismatch && (h.height !== this.size.height || h.width !== this.size.width)) {
      this.mismatch = { file, height: h.height, width: h.width, first: this.firstFile };
    }
  }
}

export interface ScanOptions {
  /** Tags the root in the content digest (its role, not its absolute path). */
  tag: string;
  digest: Hash;
  skipBad: boolean;
  /** Receives every skipped file (skipBad) with the reason. */
  skipped: SkippedFile[];
  survey?: HeaderSurvey;
  onFile?: () => void;
}

/** The files of `root` that pass the checks; a bad one is an InputError naming it unless skipBad. */
export async function scanRoot(root: ImageRoot, files: FileTable, o: ScanOptions): Promise<FileTable> {
  const kept = new FileTable();
  await forEachOrdered(files.length, READS_IN_FLIGHT, (i) => root.read(files.rel(i)), async (bytes, i) => {
    const rel = files.rel(i);
    o.digest.update(`${o.tag}\0${rel}\0${bytes.byteLength}\0${createHash('sha256').update(bytes).digest('hex')}\n`);
    const file = root.describe(rel);
    const problem = await problemOf(bytes, file, o.survey);
    o.onFile?.();
    if (problem === undefined) kept.push(rel, files.label(i));
    else if (o.skipBad) o.skipped.push({ file, reason: problem });
    else throw new InputError(file, problem);
  });
  return kept;
}

async function problemOf(bytes: Uint8Array, file: string, survey: HeaderSurvey | undefined): Promise<string | undefined> {
  if (bytes.byteLength === 0) return 'is empty (0 bytes)';
  if (!sniffImageFormat(bytes)) {
    // decodeImage says what the bytes are (another image format, or not an image) before decoding anything.
    const err = await decodeImage(bytes, file, { channels: 3 }).then(() => undefined, (e: Error) => e);
    return err instanceof InputError ? err.message.slice(`${file}: `.length) : 'not an image';
  }
  const h = readImageHeader(bytes);
  // An unreadable header is left to the decoder, which names what is wrong with the file.
  if (!h) return undefined;
  if (h.height < MIN_IMAGE_SIDE || h.width < MIN_IMAGE_SIDE) return `is ${h.width}x${h.height} pixels; images need at least ${MIN_IMAGE_SIDE} on each side`;
  survey?.note(file, h);
  return undefined;
}
