import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { parseS3Url, taskOf, type Task } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import {
  checkTeacherModel, DenseTeacher, mapDenseTeacherClasses, mapTeacherClasses, OnnxTeacher, openOnnxDenseTeacher, readTfjsTeacherFiles, tfjsDenseGraph, TfjsTeacher,
  type CheckedTeacherModel,
} from '@selftrain/export';
import type { Artifact, DatasetManifest, TeacherModel } from '@selftrain/proto';
import { MODEL_JSON_FILE, sha256Hex, type ObjectStore } from '@selftrain/storage';
import type { RunSpec } from './spec';
import { copyModelFiles, parseInitSource, readModelSource, type StageInitOptions } from './stage-init-model';

/**
 * Where a user's model lies in the bucket: named by its digest (an ONNX file's sha256, a TF.js model's
 * tfjsModelDigest), so it is uploaded once for every run that uses it. A TF.js model is a folder: this is
 * its model.json, the weight files beside it.
 */
export function teacherModelKey(source: string, digest: string): string {
  return source === 'tfjs' ? `teachers/tfjs/${digest}/${MODEL_JSON_FILE}` : `teachers/${source}/${digest}.${source}`;
}

async function readModelFile(store: ObjectStore, file: string): Promise<Buffer> {
  if (file.startsWith('s3://')) {
    const loc = parseS3Url(file);
    if (!loc?.prefix) throw new InputError('teacher.model', `${file} is not s3://BUCKET/KEY`);
    if (loc.bucket !== store.bucket) throw new InputError('teacher.model', `${file} is in bucket ${loc.bucket}; the run's bucket is ${store.bucket}`);
    if (!(await store.exists(loc.prefix))) throw new NotFoundError(`teacher.model ${file}`, `teacher.model: ${file} is not in bucket ${store.bucket}`);
    return store.get(loc.prefix);
  }
  try {
    return await readFile(file);
  } catch (err) {
    throw new InputError('teacher.model', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** A user's model as uploaded: its Artifact (key and digest), and how to open it here under a contract for a task. */
interface UploadedModel {
  model: Artifact;
  open(contract: CheckedTeacherModel, task: Task): Promise<{ engine?: string; release(): Promise<void> }>;
}

/**
 * teacher.source tfjs: the model.json a path, URL or s3:// value names (as init_checkpoint reads one; a
 * plain value is a path), read with its weight files, checked, and copied as init models are.
 */
async function uploadTfjsModel(store: ObjectStore, value: string, opts: StageInitOptions): Promise<UploadedModel> {
  const src = parseInitSource(value, 'teacher.model');
  const { files } = await readModelSource(store, src.kind === 'key' ? { kind: 'path', path: nodePath.resolve(src.key) } : src, 'teacher.model', opts,
    (read, where) => readTfjsTeacherFiles(read, where, 'teacher'));
  const key = teacherModelKey('tfjs', files.digest);
  await copyModelFiles(store, key.slice(0, key.lastIndexOf('/')), files);
  const sizeBytes = files.files.reduce((n, f) => n + f.bytes.length, 0);
  return {
    model: { key, sha256: files.digest, sizeBytes },
    open: async (contract, task) => (task === 'classification' ? TfjsTeacher.open(files, contract, 'teacher') : DenseTeacher.open(await tfjsDenseGraph(files, 'teacher'), contract, task, 'teacher')),
  };
}

async function uploadOnnxModel(store: ObjectStore, file: string): Promise<UploadedModel> {
  const bytes = await readModelFile(store, file);
  const sha256 = sha256Hex(bytes);
  const key = teacherModelKey('onnx', sha256);
  const there = await store.stat(key);
  const model = there?.sha256 === sha256 ? { key, sha256, sizeBytes: there.sizeBytes } : await store.put(key, bytes, 'application/octet-stream');
  return { model, open: (contract, task) => (task === 'classification' ? OnnxTeacher.open(bytes, contract, 'teacher') : openOnnxDenseTeacher(bytes, contract, task, 'teacher')) };
}

/** The user's model, checked against the spec, as the run sends it; `engine` runs it where not the services' TF.js backend. */
export interface PublishedTeacherModel {
  contract: CheckedTeacherModel;
  engine?: string;
}

/**
 * teacher.source onnx or tfjs: the spec's model in the bucket under its digest (written once, reused when
 * there), and the TeacherModel the labelers and the evaluator are sent. Everything the spec can get wrong
 * is an InputError naming its `teacher.*` key (the CLI exits 2) before any service is called: the contract,
 * the class names against the dataset's, and the model against the contract (it is opened here once).
 */
export async function publishTeacherModel(store: ObjectStore, spec: RunSpec, manifest: DatasetManifest, opts: StageInitOptions = {}): Promise<PublishedTeacherModel> {
  const t = spec.teacher;
  const uploaded = t.source === 'tfjs' ? await uploadTfjsModel(store, t.model, opts) : await uploadOnnxModel(store, t.model);
  const p = t.preprocess;
  const request: TeacherModel = {
    source: t.source, model: uploaded.model, classNames: t.class_names, output: { kind: t.output.kind, name: t.output.name },
    preprocess: {
      input: p.input, layout: p.layout, height: p.size || manifest.height, width: p.size || manifest.width,
      channelOrder: p.channel_order, scale: p.scale, mean: p.mean, std: p.std,
    },
  };
  if (!p.size && !(manifest.height && manifest.width)) throw new InputError('teacher.preprocess.size', 'is required: the dataset\'s images differ in size');
  const contract = checkTeacherModel(request, 'teacher');
  const task = taskOf(manifest);
  if (task === 'classification') mapTeacherClasses(contract.classNames, manifest.classNames, 'teacher.class_names');
  else mapDenseTeacherClasses(contract.classNames, manifest.classNames, task, 'teacher.class_names');
  const opened = await uploaded.open(contract, task);
  const engine = opened.engine;
  await opened.release();
  return { contract, engine };
}
