import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseS3Url, taskOf } from '@selftrain/data';
import { InputError, NotFoundError } from '@selftrain/errors';
import { checkTeacherModel, mapDenseTeacherClasses, mapTeacherClasses, OnnxDenseTeacher, OnnxTeacher, type CheckedTeacherModel } from '@selftrain/export';
import type { DatasetManifest, TeacherModel } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import type { RunSpec } from './spec';

/** Where a user's model file lies in the bucket: named by its sha256, so it is uploaded once for every run that uses it. */
export function teacherModelKey(source: string, sha256: string): string {
  return `teachers/${source}/${sha256}.${source}`;
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

/**
 * teacher.source onnx: the spec's model file in the bucket under its sha256 (written once, reused when
 * there), and the TeacherModel the labelers and the evaluator are sent. Everything the spec can get wrong
 * is an InputError naming its `teacher.*` key (the CLI exits 2) before any service is called: the contract,
 * the class names against the dataset's, and the graph against the contract (it is opened here once).
 */
export async function publishTeacherModel(store: ObjectStore, spec: RunSpec, manifest: DatasetManifest): Promise<CheckedTeacherModel> {
  const t = spec.teacher;
  const bytes = await readModelFile(store, t.model);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const key = teacherModelKey(t.source, sha256);
  const there = await store.stat(key);
  const model = there?.sha256 === sha256 ? { key, sha256, sizeBytes: there.sizeBytes } : await store.put(key, bytes, 'application/octet-stream');
  const p = t.preprocess;
  const request: TeacherModel = {
    source: t.source, model, classNames: t.class_names, output: { kind: t.output.kind, name: t.output.name },
    preprocess: {
      input: p.input, layout: p.layout, height: p.size || manifest.height, width: p.size || manifest.width,
      channelOrder: p.channel_order, scale: p.scale, mean: p.mean, std: p.std,
    },
  };
  if (!p.size && !(manifest.height && manifest.width)) throw new InputError('teacher.preprocess.size', 'is required: the dataset\'s images differ in size');
  const checked = checkTeacherModel(request, 'teacher');
  const task = taskOf(manifest);
  if (task === 'classification') mapTeacherClasses(checked.classNames, manifest.classNames, 'teacher.class_names');
  else mapDenseTeacherClasses(checked.classNames, manifest.classNames, task, 'teacher.class_names');
  const opened = task === 'classification' ? await OnnxTeacher.open(bytes, checked, 'teacher') : await OnnxDenseTeacher.open(bytes, checked, task, 'teacher');
  await opened.release();
  return checked;
}
