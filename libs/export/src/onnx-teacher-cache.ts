import { createHash } from 'node:crypto';
import { CorruptDataError, NotFoundError } from '@selftrain/errors';
import type { ObjectStore } from '@selftrain/storage';
import { OnnxDenseTeacher, type DenseTask } from './onnx-dense-teacher';
import { OnnxTeacher } from './onnx-teacher';
import type { CheckedTeacherModel } from './teacher-contract';

/**
 * Opened ONNX teachers, so a labeler opens its teacher once for many shards. Every call checks the object
 * in the bucket: missing is NotFoundError (NOT_FOUND), bytes whose sha256 is not the request's are
 * CorruptDataError (DATA_LOSS), both naming the key; an object overwritten since is fetched again.
 * Keeps the `capacity` most recent.
 */
export class OnnxTeacherCache {
  private readonly entries = new Map<string, Promise<{ release(): Promise<void> }>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly capacity = 2,
  ) {}

  /** A classification teacher. */
  get(contract: CheckedTeacherModel, field = 'teacher_model'): Promise<OnnxTeacher> {
    return this.cached(contract, field, 'classification', (bytes) => OnnxTeacher.open(bytes, contract, field));
  }

  /** A detection or segmentation teacher (OnnxDenseTeacher). */
  getDense(contract: CheckedTeacherModel, task: DenseTask, field = 'teacher_model'): Promise<OnnxDenseTeacher> {
    return this.cached(contract, field, task, (bytes) => OnnxDenseTeacher.open(bytes, contract, task, field));
  }

  private async cached<T extends { release(): Promise<void> }>(contract: CheckedTeacherModel, field: string, task: string, open: (bytes: Uint8Array) => Promise<T>): Promise<T> {
    const { key, sha256: expected } = contract.model;
    const stat = await this.store.stat(key);
    if (!stat) throw new NotFoundError(`${field}.model ${key}`, `${field}.model ${key} is not in bucket ${this.store.bucket}`);
    // The recorded digest (written by this project's store) refuses changed bytes without fetching them.
    if (stat.sha256 && stat.sha256 !== expected) throw mismatch(key, stat.sha256, expected, stat.sizeBytes);
    const id = `${key}@${stat.sha256}@${stat.sizeBytes}@${task}@${JSON.stringify(contract)}`;
    let entry = this.entries.get(id) as Promise<T> | undefined;
    if (entry) {
      this.entries.delete(id);
    } else {
      entry = this.read(contract).then(open);
      // A failed open is not kept: the next call tries again.
      entry.catch(() => this.entries.delete(id));
    }
    this.entries.set(id, entry);
    while (this.entries.size > this.capacity) {
      const [oldest, value] = this.entries.entries().next().value as [string, Promise<{ release(): Promise<void> }>];
      this.entries.delete(oldest);
      void value.then((t) => t.release(), () => undefined);
    }
    return entry;
  }

  /** Releases every opened session (a cache made for one call; a service's lives as long as it does). */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.then((t) => t.release(), () => undefined)));
  }

  /** The file's bytes, checked against the contract's sha256. */
  private async read(contract: CheckedTeacherModel): Promise<Uint8Array> {
    const { key, sha256: expected } = contract.model;
    const bytes = await this.store.get(key);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== expected) throw mismatch(key, actual, expected, bytes.length);
    return bytes;
  }
}

function mismatch(key: string, actual: string, expected: string, size: number): CorruptDataError {
  return new CorruptDataError(key, 0, `the teacher model's sha256 is ${actual} (${size} bytes), the request names ${expected}: the file changed since the run uploaded it`);
}
