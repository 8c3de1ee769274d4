import { CorruptDataError, NotFoundError } from '@selftrain/errors';
import { checkModelJson, MODEL_JSON_FILE, sha256Hex, weightPaths, type ObjectStore } from '@selftrain/storage';
import type { ClassTeacher } from './class-teacher';
import { DenseTeacher, type DenseTask } from './dense-teacher';
import { onnxDenseGraph } from './onnx-dense-teacher';
import { OnnxTeacher } from './onnx-teacher';
import type { CheckedTeacherModel } from './teacher-contract';
import { readTfjsTeacherFiles, tfjsDenseGraph, TfjsTeacher } from './tfjs-teacher';

/**
 * Opened teacher models, so a labeler opens its teacher once for many shards; the one place that knows how
 * each TeacherModel source opens from the bucket:
 * - onnx: model.key is the file; its bytes' sha256 must be model.sha256.
 * - tfjs: model.key is model.json, its weight files beside it as its manifest names them; model.sha256 is
 *   their tfjsModelDigest (libs/storage: over model.json and every weight file, each by its sha256).
 * Every call checks the model's objects in the bucket: a missing model.key is NotFoundError (NOT_FOUND),
 * bytes whose digest is not the request's are CorruptDataError (DATA_LOSS), both naming the key; an object
 * overwritten since is fetched again. A model that cannot be what its contract says (a TF.js weights file
 * missing included) is an InputError naming the field. Keeps the `capacity` most recent.
 */
export class TeacherModelCache {
  private readonly entries = new Map<string, Promise<{ release(): Promise<void> }>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly capacity = 2,
  ) {}

  /** A classification teacher (ONNX or TF.js). */
  get(contract: CheckedTeacherModel, field = 'teacher_model'): Promise<ClassTeacher> {
    return this.cached(contract, field, 'classification', async () => {
      if (contract.source === 'tfjs') return TfjsTeacher.open(await this.readTfjs(contract, field), contract, field);
      return OnnxTeacher.open(await this.readOnnx(contract), contract, field);
    });
  }

  /** A detection or segmentation teacher (DenseTeacher, over an ONNX or a TF.js model). */
  getDense(contract: CheckedTeacherModel, task: DenseTask, field = 'teacher_model'): Promise<DenseTeacher> {
    return this.cached(contract, field, task, async () => {
      const graph = contract.source === 'tfjs' ? await tfjsDenseGraph(await this.readTfjs(contract, field), field) : await onnxDenseGraph(await this.readOnnx(contract), field);
      return DenseTeacher.open(graph, contract, task, field);
    });
  }

  /** Releases every opened model (a cache made for one call; a service's lives as long as it does). */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.then((t) => t.release(), () => undefined)));
  }

  private async cached<T extends { release(): Promise<void> }>(contract: CheckedTeacherModel, field: string, task: string, open: () => Promise<T>): Promise<T> {
    const id = `${contract.model.key}@${await this.version(contract, field)}@${task}@${JSON.stringify(contract)}`;
    let entry = this.entries.get(id) as Promise<T> | undefined;
    if (entry) {
      this.entries.delete(id);
    } else {
      entry = open();
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

  /**
   * What the model's objects are now, by the bucket's stats: the ONNX file's, or model.json's and each weight
   * file's it names (so a replaced weight file is fetched, and refused, again).
   */
  private async version(contract: CheckedTeacherModel, field: string): Promise<string> {
    const { key, sha256: expected } = contract.model;
    const stat = await this.store.stat(key);
    if (!stat) throw new NotFoundError(`${field}.model ${key}`, `${field}.model ${key} is not in bucket ${this.store.bucket}`);
    const version = (s: { sha256: string; sizeBytes: number } | null) => (s ? `${s.sha256}@${s.sizeBytes}` : 'absent');
    if (contract.source !== 'tfjs') {
      // The recorded digest (written by this project's store) refuses changed bytes without fetching them.
      if (stat.sha256 && stat.sha256 !== expected) throw mismatch(key, stat.sha256, expected, stat.sizeBytes);
      return version(stat);
    }
    let paths: string[] = [];
    try {
      paths = weightPaths(key, checkModelJson(key, JSON.parse((await this.store.get(key)).toString('utf8'))));
    } catch (err) {
      // Not a model.json: opening it says so, naming the field.
      if (!(err instanceof SyntaxError || err instanceof CorruptDataError)) throw err;
    }
    const dir = key.slice(0, key.lastIndexOf('/') + 1);
    const weights = await Promise.all(paths.map((p) => this.store.stat(`${dir}${p}`)));
    return [stat, ...weights].map(version).join('/');
  }

  /** An ONNX file's bytes, checked against the contract's sha256. */
  private async readOnnx(contract: CheckedTeacherModel): Promise<Uint8Array> {
    const { key, sha256: expected } = contract.model;
    const bytes = await this.store.get(key);
    const actual = sha256Hex(bytes);
    if (actual !== expected) throw mismatch(key, actual, expected, bytes.length);
    return bytes;
  }

  /** A TF.js model's files, checked against the contract's digest. */
  private async readTfjs(contract: CheckedTeacherModel, field: string) {
    const { key, sha256: expected } = contract.model;
    const dir = key.slice(0, key.lastIndexOf('/') + 1);
    const files = await readTfjsTeacherFiles((path) => this.store.get(path === MODEL_JSON_FILE ? key : `${dir}${path}`), key, field);
    const size = files.files.reduce((n, f) => n + f.bytes.length, 0);
    if (files.digest !== expected) throw mismatch(key, files.digest, expected, size, 'TF.js model digest (model.json and its weight files)');
    return files;
  }
}

function mismatch(key: string, actual: string, expected: string, size: number, what = 'sha256'): CorruptDataError {
  return new CorruptDataError(key, 0, `the teacher model's ${what} is ${actual} (${size} bytes), the request names ${expected}: the file changed since the run uploaded it`);
}
