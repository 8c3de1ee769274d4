import { readFile, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { refuseGraphModelInit } from '@selftrain/checkpoints';
import { CorruptDataError, FailedPreconditionError, InputError, NotFoundError, objectKeyProblem } from '@selftrain/errors';
import { MODEL_JSON_FILE, readTfjsModelFiles, type ObjectStore, type TfjsModelFiles } from '@selftrain/storage';

/** Where init models are copied to: `inits/<digest>/model.json` (+ its weight files), one copy per content. */
export const INITS_PREFIX = 'inits';
/** A model's files are fetched one at a time; each gets this long. */
const FETCH_TIMEOUT_MS = 10 * 60_000;

/** What an init value in a spec names. */
export type InitSource =
  | { kind: 'key'; key: string }
  | { kind: 'path'; path: string }
  | { kind: 'url'; url: URL }
  | { kind: 's3'; bucket: string; key: string };

/**
 * An init value: `s3://BUCKET/KEY` (a model.json on the configured endpoint), an `http(s)://` URL, a local
 * path (absolute, `./`, `../` or `file://`; a folder means its model.json), or else a model.json key in the
 * run's bucket, as before (what the experiment grid's pretraining hands on).
 */
export function parseInitSource(value: string, field: string): InitSource {
  if (/^https?:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new InputError(field, `${JSON.stringify(value)} is not a valid URL`);
    }
    if (url.pathname.endsWith('/')) url.pathname += MODEL_JSON_FILE;
    return { kind: 'url', url };
  }
  if (value.startsWith('s3://')) {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(value);
    if (!m) throw new InputError(field, `${JSON.stringify(value)} is not s3://BUCKET/KEY`);
    const key = m[2].endsWith('/') ? `${m[2]}${MODEL_JSON_FILE}` : m[2];
    const problem = objectKeyProblem(key);
    if (problem) throw new InputError(field, `the key of ${JSON.stringify(value)} ${problem}`);
    return { kind: 's3', bucket: m[1], key };
  }
  if (value.startsWith('file://')) return { kind: 'path', path: fileURLToPath(value) };
  if (nodePath.isAbsolute(value) || /^\.\.?(\/|$)/.test(value)) return { kind: 'path', path: nodePath.resolve(value) };
  return { kind: 'key', key: value };
}

/** A URL as messages and records show it: no user, password or query (a signed URL's signature is a secret). */
export function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?...' : ''}`;
}

/** The init as the trainer gets it: a key in the run's bucket, and where it came from. */
export interface StagedInit {
  key: string;
  /** The spec's value (URLs without credentials or query); '' for a bucket key, sent as it is. */
  source: string;
}

export interface StageInitOptions {
  /** A store for another bucket on the same endpoint, for `s3://` inits outside the run's bucket. */
  openBucket?: (bucket: string) => Promise<ObjectStore & { close?(): void }>;
}

/**
 * Makes an init value something every trainer can read: a model from a path, a URL or any bucket of the
 * endpoint is read, checked (a TF.js LayersModel whose weights add up), and copied into the run's bucket
 * under its content digest, so trainers on other machines load the same bytes, and a changed file is a
 * new key, never a changed one. A bucket key is sent as it is (the trainer checks it when the job starts).
 * Errors name `field`: NOT_FOUND for a missing file or object, INVALID_ARGUMENT for one that is not a
 * usable LayersModel (not JSON, no weights manifest, truncated weights, a GraphModel).
 */
export async function stageInitModel(store: ObjectStore, value: string, field: string, opts: StageInitOptions = {}): Promise<StagedInit | undefined> {
  if (!value) return undefined;
  const src = parseInitSource(value, field);
  if (src.kind === 'key') return { key: src.key, source: '' };
  const { files, where } = await readModelSource(store, src, field, opts);
  refuseGraphModelInit(where, files.modelJson, field);
  return { key: await copyModelFiles(store, `${INITS_PREFIX}/${files.digest}`, files), source: where };
}

/**
 * Reads and checks the TF.js model a path, URL or s3:// value names (`readFiles`: readTfjsModelFiles, or a
 * caller's stricter reader over it). `where` names its model.json in messages and records (URLs without
 * credentials or query). A model that is not usable is an InputError naming `field`; a missing file NOT_FOUND.
 */
export async function readModelSource(
  store: ObjectStore, src: Exclude<InitSource, { kind: 'key' }>, field: string, opts: StageInitOptions = {}, readFiles = readTfjsModelFiles,
): Promise<{ files: TfjsModelFiles; where: string }> {
  const reader = await openSource(store, src, field, opts);
  try {
    return { files: await readFiles(reader.read, reader.where), where: reader.where };
  } catch (err) {
    // The user's file, not the bucket, is what is wrong: the spec's field says which.
    if (err instanceof CorruptDataError || err instanceof FailedPreconditionError) throw new InputError(field, err.message, { cause: err });
    throw err;
  } finally {
    reader.close();
  }
}

/**
 * Copies read model files into the run's bucket under `dir` (named by their digest, so a changed model is a
 * new folder, never a changed one), unless its model.json is there already; returns model.json's key.
 */
export async function copyModelFiles(store: ObjectStore, dir: string, files: TfjsModelFiles): Promise<string> {
  const key = `${dir}/${MODEL_JSON_FILE}`;
  if (!(await store.exists(key))) {
    // Weights first, model.json last: a model.json in the bucket always has its weights beside it.
    for (const f of files.files.slice(1)) await store.put(`${dir}/${f.path}`, f.bytes);
    await store.put(key, files.files[0].bytes, 'application/json');
  }
  return key;
}

interface SourceReader {
  /** model.json as messages and the run record name it. */
  where: string;
  /** MODEL_JSON_FILE: model.json itself, whatever its name; else a file relative to its folder. */
  read(path: string): Promise<Buffer>;
  close(): void;
}

async function openSource(store: ObjectStore, src: Exclude<InitSource, { kind: 'key' }>, field: string, opts: StageInitOptions): Promise<SourceReader> {
  switch (src.kind) {
    case 'path': {
      const modelJson = (await stat(src.path).catch(() => undefined))?.isDirectory() ? nodePath.join(src.path, MODEL_JSON_FILE) : src.path;
      const dir = nodePath.dirname(modelJson);
      return {
        where: modelJson,
        close: () => {},
        read: async (path) => {
          const file = path === MODEL_JSON_FILE ? modelJson : nodePath.join(dir, path);
          try {
            return await readFile(file);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'ENOENT') throw new NotFoundError(`${field} ${file}`, `${field}: ${file} does not exist`);
            throw new InputError(field, `cannot read ${file}: ${code ?? (err as Error).message}`, { cause: err });
          }
        },
      };
    }
    case 'url':
      return {
        where: describeUrl(src.url),
        close: () => {},
        read: async (path) => {
          // Weight paths are relative to model.json's URL, as tf.loadLayersModel resolves them.
          const url = path === MODEL_JSON_FILE ? src.url : new URL(path, src.url);
          let res: Response;
          try {
            res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
          } catch (err) {
            const cause = (err as { cause?: { code?: string; message?: string } }).cause;
            throw new InputError(field, `cannot fetch ${describeUrl(url)}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
          }
          if (res.status === 404 || res.status === 410) throw new NotFoundError(`${field} ${describeUrl(url)}`, `${field}: ${describeUrl(url)} answered HTTP ${res.status}`);
          if (!res.ok) throw new InputError(field, `${describeUrl(url)} answered HTTP ${res.status}`);
          return Buffer.from(await res.arrayBuffer());
        },
      };
    case 's3': {
      let bucket: ObjectStore & { close?(): void } = store;
      if (src.bucket !== store.bucket || ((store as { prefix?: string }).prefix ?? '') !== '') {
        if (!opts.openBucket) throw new InputError(field, `s3://${src.bucket}/ is not the run's bucket (${store.bucket}) and no way to open another bucket was given`);
        bucket = await opts.openBucket(src.bucket);
      }
      const dir = src.key.slice(0, src.key.lastIndexOf('/') + 1);
      return {
        where: `s3://${src.bucket}/${src.key}`,
        close: () => { if (bucket !== store) bucket.close?.(); },
        read: async (path) => {
          try {
            return await bucket.get(path === MODEL_JSON_FILE ? src.key : `${dir}${path}`);
          } catch (err) {
            const object = `s3://${src.bucket}/${path === MODEL_JSON_FILE ? src.key : `${dir}${path}`}`;
            if (err instanceof NotFoundError) throw new NotFoundError(`${field} ${object}`, `${field}: ${object} does not exist`);
            throw err;
          }
        },
      };
    }
  }
}
