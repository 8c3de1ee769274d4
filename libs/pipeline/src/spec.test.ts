import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { specDigest } from './driver';
import { loadGridFile } from './experiment-grid';
import { loadSpecFile, SpecError, trainFields, validateSpec, type TrainSpec } from './spec';

test('an empty spec is the default Fashion-MNIST loop', () => {
  const s = validateSpec({});
  assert.equal(s.dataset.source, 'fashion-mnist');
  assert.equal(s.dataset.labels_per_class, 100);
  assert.equal(s.generations, 2);
  assert.equal(validateSpec({ task: 'segmentation' }).generations, 1);
  assert.equal(validateSpec({ task: 'detection', generations: 2 }).generations, 2);
  assert.equal(s.labeling.threshold, 0.5);
  assert.equal(s.labeling.balance, true);
  assert.equal(s.teacher.width, 0.5);
  // Noisy Student's student is at least as large as its teacher.
  assert.equal(s.student.width, 0.75);
  assert.equal(s.student.max_steps, 4000);
});

test('unknown keys and wrong types are reported together, each naming its path', () => {
  try {
    validateSpec({ teacher: { max_step: 5, batch_size: 'big' }, labeling: { threshold: 1.5 }, generations: 1.5, extra: true });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof SpecError);
    const fields = err.problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['extra', 'generations', 'labeling.threshold', 'teacher.batch_size', 'teacher.max_step']);
    assert.match(err.message, /teacher\.batch_size: must be a number, got the string "big"/);
  }
});

test('YAML and JSON files; a broken file names itself', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spec-'));
  const yaml = path.join(dir, 'a.yaml');
  writeFileSync(yaml, 'name: tiny\nteacher:\n  max_steps: 20\n');
  assert.equal(loadSpecFile(yaml).teacher.max_steps, 20);
  const json = path.join(dir, 'b.json');
  writeFileSync(json, '{"name": "j", "student": {"augment": "s9"}}');
  assert.throws(() => loadSpecFile(json), /student\.augment: must be one of/);
  const bad = path.join(dir, 'c.yaml');
  writeFileSync(bad, 'name: [unclosed\n');
  assert.throws(() => loadSpecFile(bad), (e: unknown) => e instanceof SpecError && e.problems[0].field === bad);
});

test('the task decides the dataset, the model and the defaults the spec is silent on; classification-only options are refused', () => {
  const det = validateSpec({ task: 'detection', teacher: { max_steps: 50 } });
  assert.equal(det.dataset.prefix, 'datasets/fashion-mnist-scenes-detection');
  assert.deepEqual([det.teacher.model, det.student.model, det.teacher.batch_size, det.teacher.learning_rate], ['retinanet', 'retinanet', 16, 0.01]);
  assert.equal(det.teacher.max_steps, 50, 'what the spec says wins');
  assert.deepEqual([det.labeling.balance, det.labeling.soft], [false, false]);
  // Detection labels with Soft-NMS at 0.4 and drops images without a box; its student trains 4,500 steps
  // under S1 (README, measured).
  assert.deepEqual([det.labeling.threshold, det.labeling.drop_empty_images, det.labeling.soft_nms, det.student.augment, det.student.max_steps, det.teacher.augment, det.teacher.max_steps],
    [0.4, true, true, 's1', 4500, 's1', 50]);
  const paper = validateSpec({ task: 'detection', labeling: { threshold: 0.5, drop_empty_images: false, soft_nms: false }, student: { augment: 's2' } });
  assert.deepEqual([paper.labeling.threshold, paper.labeling.drop_empty_images, paper.labeling.soft_nms, paper.student.augment], [0.5, false, false, 's2'], 'what the spec says wins');
  const cls = validateSpec({});
  assert.deepEqual([cls.labeling.threshold, cls.labeling.drop_empty_images, cls.labeling.soft_nms, cls.student.augment], [0.5, false, false, 's2'], 'classification is unchanged');
  assert.equal(det.dataset.scenes.unlabeled, 5000);
  const seg = validateSpec({ task: 'segmentation', dataset: { prefix: 'datasets/mine', scenes: { canvas: 128 } } });
  assert.deepEqual([seg.dataset.prefix, seg.dataset.scenes.canvas, seg.teacher.model], ['datasets/mine', 128, 'segmenter']);
  // Both roles weigh pixels by class, so the student's gain is not a different loss's.
  assert.deepEqual([seg.teacher.pixel_class_balance, seg.student.pixel_class_balance], [0.5, 0.5]);
  assert.deepEqual([seg.student.augment, seg.student.max_steps, seg.labeling.threshold, seg.labeling.drop_empty_images, seg.labeling.soft_nms], ['s1', 3000, 0.5, false, false], 'S1 for the student; the labeling defaults are detection\'s only');
  assert.equal(validateSpec({ task: 'segmentation', student: { pixel_class_balance: 0 } }).student.pixel_class_balance, 0);
  assert.equal(validateSpec({}).student.pixel_class_balance, 0);
  assert.throws(() => validateSpec({ task: 'segmentation', teacher: { pixel_class_balance: 2 } }), /teacher\.pixel_class_balance/);
  assert.equal(validateSpec({}).teacher.model, 'cnn-small', 'classification is unchanged');
  try {
    validateSpec({ task: 'segmentation', teacher: { model: 'retinanet' }, labeling: { balance: true }, dataset: { scenes: { min_items: 4, max_items: 2 } } });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof SpecError);
    assert.deepEqual(err.problems.map((p) => p.field).sort(), ['dataset.scenes.max_items', 'labeling.balance', 'teacher.model']);
  }
  assert.throws(() => validateSpec({ task: 'pose' }), (e: unknown) => e instanceof SpecError && e.problems[0].field === 'task');
  assert.throws(() => validateSpec({ student: { model: 'segmenter' } }), (e: unknown) => e instanceof SpecError && e.problems[0].field === 'student.model');
});

test('every spec and grid in examples/ is valid', () => {
  const dir = path.resolve(__dirname, '../../../examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 5, files.join());
  for (const f of files) {
    const file = path.join(dir, f);
    const raw = parseYaml(readFileSync(file, 'utf8')) as { dataset?: { source?: string } };
    if (f.includes('study')) loadGridFile(file);
    // Photo folders are the user's (git-ignored data/): the spec is checked, not the folders' presence.
    else if (raw.dataset?.source === 'images') validateSpec(raw);
    else loadSpecFile(file);
  }
});

test('keys added since runs existed leave the default spec\'s digest as it was, so those runs are still reused', () => {
  // The default spec's digest since it runs two generations (before: 1ff4a1cbd1..., one generation of the
  // width-0.75, 4000-step student; before that 4551506275..., as commit 5a8241c computed it). Keys added
  // later (task, dataset.scenes, the detection labeling switches, joint training's) leave it as it is at
  // their defaults.
  assert.equal(specDigest(validateSpec({})), '98cc562278c41f651ac08f1183257d2bcc8c28153bcf1d3b6d809c5deb22c877');
  assert.equal(specDigest(validateSpec({ generations: 1 })), '1ff4a1cbd1de29cdeea4510885a480962838b04eafcdd8d9ce1d61d679000145');
  assert.notEqual(specDigest(validateSpec({ teacher: { auxiliary_dataset: 'datasets/x' } })), specDigest(validateSpec({})));
});

test('dataset.source images: folders relative to the spec file, the photos defaults where the spec is silent', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spec-images-'));
  for (const d of ['photos/train', 'photos/test', 'more']) mkdirSync(path.join(dir, d), { recursive: true });
  mkdirSync(path.join(dir, 'specs'));
  const file = path.join(dir, 'specs', 'mine.yaml');
  writeFileSync(file, 'dataset:\n  source: images\n  labeled: ../photos/train\n  unlabeled: [../more, s3://bucket/raw/]\n  test: ../photos/test\nstudent:\n  dropout: 0.5\n');
  const s = loadSpecFile(file);
  assert.equal(s.dataset.labeled, path.join(dir, 'photos/train'));
  assert.deepEqual(s.dataset.unlabeled, [path.join(dir, 'more'), 's3://bucket/raw/']);
  assert.equal(s.dataset.test, path.join(dir, 'photos/test'));
  // Ingest's own defaults: every labeled image, its validation share, a prefix digesting the files.
  assert.deepEqual([s.dataset.labels_per_class, s.dataset.val_per_class, s.dataset.prefix, s.dataset.resize], [0, 0, '', 'center-crop']);
  // The residual classifier for photos, declared in libs/options (not the 28x28 grey cnn-small).
  assert.deepEqual([s.teacher.model, s.student.model], ['resnet18', 'resnet18']);
  assert.ok(s.student.width >= s.teacher.width, 'the student is at least as large as the teacher');
  assert.ok(s.student.stochastic_depth > 0);
  assert.equal(s.student.dropout, 0.5, 'what the spec says wins');
  assert.equal(s.generations, 1);
  // The Fashion-MNIST defaults are untouched.
  assert.equal(validateSpec({}).teacher.model, 'cnn-small');
});

test('student.init_from_teacher: a photos student starts from its teacher; where it cannot load the teacher, the default gives way and a set value is an error', () => {
  const photos = (extra: Record<string, unknown> = {}) => validateSpec({ dataset: { source: 'images', labeled: '/a', test: '/b', unlabeled: ['/c'] }, ...extra });
  const problem = (raw: unknown) => {
    try { validateSpec(raw); return ''; } catch (e) { return (e as SpecError).problems.map((p) => p.message).join('\n'); }
  };
  assert.equal(photos().student.init_from_teacher, true);
  assert.equal(validateSpec({}).student.init_from_teacher, false, 'Fashion-MNIST keeps the random init it was tuned with');
  // The default gives way: a wider student, a student init of its own, a user's teacher model.
  assert.equal(photos({ student: { width: 1 } }).student.init_from_teacher, false);
  assert.equal(photos({ student: { init_checkpoint: 'inits/x/model.json' } }).student.init_from_teacher, false);
  assert.equal(photos({ teacher: { source: 'onnx', model: 's3://models/t.onnx', class_names: ['a', 'b'] } }).student.init_from_teacher, false);
  // Set in the spec where it cannot hold: an error naming the field and why.
  assert.match(problem({ student: { init_from_teacher: true } }), /^student\.init_from_teacher: .*model and width \(teacher cnn-small width 0\.5, student cnn-small width 0\.75\): set init_from_teacher: false$/);
  assert.match(problem({ student: { init_from_teacher: true, init_checkpoint: 'inits/x/model.json', width: 0.5 } }), /^student\.init_from_teacher: student\.init_checkpoint already names/);
  assert.match(problem({ teacher: { source: 'tfjs', model: 's3://models/t/model.json', class_names: ['a', 'b'] }, student: { init_from_teacher: true } }), /^student\.init_from_teacher: the teacher is a user's tfjs model/);
  assert.equal(validateSpec({ student: { init_from_teacher: true, width: 0.5 } }).student.init_from_teacher, true);
  // A completed spec validates again as it is (a resumed run reads it back from its record).
  const wider = photos({ student: { width: 1 } });
  assert.deepEqual(validateSpec(JSON.parse(JSON.stringify(wider))), wider);
});

test('dataset.source images: a missing or misplaced folder is an error naming its field', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spec-images-'));
  const file = path.join(dir, 'a.yaml');
  writeFileSync(file, 'dataset: {source: images, labeled: nowhere, test: gone, labels_per_class: 10}\n');
  assert.throws(() => loadSpecFile(file), (e: unknown) => e instanceof SpecError
    && e.problems.map((p) => p.field).join() === 'dataset.labeled,dataset.test' && e.message.includes(path.join(dir, 'nowhere')));
  const fields = (raw: unknown) => {
    try { validateSpec(raw); return []; } catch (e) { return (e as SpecError).problems.map((p) => p.field).sort(); }
  };
  assert.deepEqual(fields({ dataset: { source: 'images' } }), ['dataset.labeled', 'dataset.test', 'dataset.unlabeled']);
  assert.deepEqual(fields({ dataset: { source: 'images', labeled: 'a', test: 'b', image_size: 2000, resize: 'squash' } }), ['dataset.image_size', 'dataset.resize']);
  assert.deepEqual(fields({ dataset: { labeled: 'a', labels_per_class: 0 } }), ['dataset.labeled', 'dataset.labels_per_class']);
  // A completed images spec validates again as it is (a resumed run reads it back from its record).
  const done = validateSpec({ dataset: { source: 'images', labeled: '/a', test: '/b', unlabeled: ['/c'] } });
  assert.deepEqual(validateSpec(JSON.parse(JSON.stringify(done))), done);
  assert.deepEqual(fields({ task: 'detection', dataset: { source: 'images', labeled: 'a', test: 'b', unlabeled: ['c'] } }), ['dataset.source']);
});

test('examples/cifar10.yaml: 400 labels per class from the train folder, the rest unlabeled, the test folder scored', () => {
  const raw = parseYaml(readFileSync(path.join(__dirname, '../../../examples/cifar10.yaml'), 'utf8'));
  const s = validateSpec(raw);
  assert.deepEqual([s.dataset.source, s.dataset.labels_per_class, s.dataset.unlabeled], ['images', 400, []]);
  assert.match(s.dataset.labeled, /train$/);
  assert.match(s.dataset.test, /test$/);
});

test('examples/cifar10-ceiling.yaml: every label of the same folder, with the same model and options as cifar10.yaml', () => {
  const load = (name: string) => validateSpec(parseYaml(readFileSync(path.join(__dirname, '../../../examples', name), 'utf8')));
  const [ceiling, semi] = [load('cifar10-ceiling.yaml'), load('cifar10.yaml')];
  assert.deepEqual([ceiling.dataset.labels_per_class, ceiling.dataset.val_per_class, ceiling.dataset.unlabeled], [4950, semi.dataset.val_per_class, []]);
  assert.deepEqual([ceiling.dataset.labeled, ceiling.dataset.test], [semi.dataset.labeled, semi.dataset.test]);
  assert.deepEqual(ceiling.teacher, semi.teacher);
});

test('examples/cifar10-ceiling-student.yaml: every label, from the ceiling teacher, with the training options of cifar10.yaml\'s student', () => {
  const load = (name: string) => validateSpec(parseYaml(readFileSync(path.join(__dirname, '../../../examples', name), 'utf8')));
  const [ceiling, longer, semi] = [load('cifar10-ceiling.yaml'), load('cifar10-ceiling-student.yaml'), load('cifar10.yaml')];
  assert.deepEqual(longer.dataset, ceiling.dataset);
  assert.equal(longer.teacher.init_checkpoint, `runs/${ceiling.name}/gen0/teacher/checkpoints/best/model.json`);
  for (const key of Object.keys(trainFields('student')).filter((k) => k !== 'init_checkpoint')) {
    assert.deepEqual(longer.teacher[key as keyof TrainSpec], semi.student[key as keyof TrainSpec], key);
  }
});

test('teacher.source tfjs: layout NHWC where the spec is silent; a URL or s3:// model kept as it is, a relative folder resolved against the spec file', () => {
  const classes = { class_names: ['a', 'b'] };
  assert.equal(validateSpec({ teacher: { source: 'tfjs', model: 's3://models/t/model.json', ...classes } }).teacher.preprocess.layout, 'NHWC');
  assert.equal(validateSpec({ teacher: { source: 'tfjs', model: 's3://models/t/model.json', preprocess: { layout: 'NCHW' }, ...classes } }).teacher.preprocess.layout, 'NCHW');
  assert.equal(validateSpec({ teacher: { source: 'onnx', model: 's3://models/t.onnx', ...classes } }).teacher.preprocess.layout, 'NCHW', 'ONNX keeps PyTorch\'s');
  assert.equal(validateSpec({ task: 'detection', teacher: { source: 'tfjs', model: 's3://models/t/model.json', output: { kind: 'boxes' }, ...classes } }).teacher.source, 'tfjs');
  assert.throws(() => validateSpec({ teacher: { source: 'tfjs', ...classes } }), /teacher\.model: is required with teacher\.source tfjs: .*an http\(s\) URL of model\.json/);
  const dir = mkdtempSync(path.join(tmpdir(), 'spec-tfjs-'));
  mkdirSync(path.join(dir, 'teacher'));
  const file = (name: string, model: string) => {
    writeFileSync(path.join(dir, name), `teacher:\n  source: tfjs\n  model: ${model}\n  class_names: [a, b]\n`);
    return loadSpecFile(path.join(dir, name)).teacher.model;
  };
  assert.equal(file('url.yaml', 'https://models.example/t/model.json'), 'https://models.example/t/model.json');
  assert.equal(file('folder.yaml', 'teacher'), path.join(dir, 'teacher'));
  assert.throws(() => file('missing.yaml', 'nowhere/model.json'), /teacher\.model: .*nowhere\/model\.json does not exist/);
});
