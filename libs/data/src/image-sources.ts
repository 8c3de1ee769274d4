// Where an image ingest's files come from: a directory tree, an ImageFolder (one subfolder per class), or a
// prefix of raw images in an S3 bucket. Each lists its files in a fixed order (sorted names), so a dataset
// drawn from them is the same on every machine; files are named by their path relative to the root. The
// listings go straight into a FileTable: only one directory's names are ever held as strings at once.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '@selftrain/errors';
import type { ObjectStore } from '@selftrain/storage';
import { FileTable } from './file-table';

/** A root to read files from: a local directory or an S3 bucket + prefix. */
export interface ImageRoot {
  /** What error messages and skipped-file lists call a file of this root. */
  describe(rel: string): string;
  read(rel: string): Promise<Uint8Array>;
  /** The local path when the root is a directory (decode workers then read the file themselves). */
  localPath?(rel: string): string;
}

export interface S3Location {
  bucket: string;
  prefix: string;
}

/** `s3://BUCKET/PREFIX` parsed; undefined for anything else. */
export function parseS3Url(url: string): S3Location | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) return undefined;
  return { bucket: m[1], prefix: m[2] };
}

/** A local directory as a root. */
export function directoryRoot(dir: string): ImageRoot {
  return {
    describe: (rel) => join(dir, rel),
    localPath: (rel) => join(dir, rel),
    read: async (rel) => {
      try {
        return await readFile(join(dir, rel));
      } catch (err) {
        throw new InputError(join(dir, rel), `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
    },
  };
}

/** A bucket prefix as a root; keys are read through `store` (a store on that bucket, with no key prefix of its own). */
export function bucketRoot(store: ObjectStore, loc: S3Location): ImageRoot {
  const base = loc.prefix === '' || loc.prefix.endsWith('/') ? loc.prefix : `${loc.prefix}/`;
  return {
    describe: (rel) => `s3://${loc.bucket}/${base}${rel}`,
    read: (rel) => store.get(`${base}${rel}`),
  };
}

/**
 * Every file under `dir` (recursive, sorted by relative path), appended to `out` as `prefix` + its path with
 * `label`; dotfiles and dot-directories (.DS_Store, .git) are left out. Returns how many it appended.
 */
export async function listTree(dir: string, field: string, out: FileTable, label = -1, prefix = ''): Promise<number> {
  await requireDirectory(dir, field);
  const before = out.length;
  const walk = async (rel: string): Promise<void> => {
    const entries = (await readdir(join(dir, rel), { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() || e.isSymbolicLink()) out.push(`${prefix}${r}`, label);
    }
  };
  await walk('');
  return out.length - before;
}

/**
 * Every key under an S3 prefix, relative to it, sorted, appended to `out` (label -1); keys ending in `/`
 * (folder markers) are left out. The store answers with the whole key list, held until it is appended.
 */
export async function listBucket(store: ObjectStore, loc: S3Location, out: FileTable): Promise<void> {
  const base = loc.prefix === '' || loc.prefix.endsWith('/') ? loc.prefix : `${loc.prefix}/`;
  for (const k of await store.list(base)) {
    if (!k.endsWith('/') && !k.slice(base.length).split('/').some((p) => p.startsWith('.'))) out.push(k.slice(base.length), -1);
  }
}

/**
 * An ImageFolder tree: class names are the subfolder names, sorted; each class's files are its subtree.
 * An empty class folder, or a file beside the class folders, is an InputError naming it.
 */
export async function listImageFolder(dir: string, field: string): Promise<{ classNames: string[]; files: FileTable }> {
  await requireDirectory(dir, field);
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const stray = entries.find((e) => !e.isDirectory());
  if (stray) throw new InputError(join(dir, stray.name), 'is not inside a class folder (ImageFolder layout: one subfolder per class, images inside)');
  const classNames = entries.map((e) => e.name).sort();
  if (classNames.length === 0) throw new InputError(field, `${dir} has no class folders (ImageFolder layout: one subfolder per class, images inside)`);
  const files = new FileTable();
  for (let label = 0; label < classNames.length; label++) {
    const inClass = await listTree(join(dir, classNames[label]), field, files, label, `${classNames[label]}/`);
    if (inClass === 0) throw new InputError(join(dir, classNames[label]), 'is an empty class folder');
  }
  return { classNames, files };
}

async function requireDirectory(dir: string, field: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new InputError(field, `directory not found: ${dir}`);
}
