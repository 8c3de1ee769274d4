import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '@selftrain/errors';
import { checkpointKeyOf, checkpointOfRun, exportCheckpoint, parseExportFormat } from '@selftrain/export';
import type { Logger } from '@selftrain/logger';
import { loadRunRecord, openStore } from '@selftrain/pipeline/records';
import { intFlag, stringFlag, type ParsedArgs } from './cli-args';

/**
 * `selftrain export RUN|CHECKPOINT --format onnx|tfjs [--generation G] --out PATH`: a run's student (the last
 * generation's, or generation G's) or any checkpoint (`s3://KEY`, or a key ending in model.json) as an ONNX
 * file (PATH) or a stock TF.js model (PATH is a directory: model.json + weights.bin). Prints what it wrote.
 */
export async function exportCommand(args: ParsedArgs, logger: Logger): Promise<number> {
  const target = args.positionals[0];
  if (!target) throw new InputError('RUN|CHECKPOINT', 'give a run id, or a checkpoint as s3://KEY or a key ending in model.json');
  const format = parseExportFormat(stringFlag(args, 'format'));
  const out = stringFlag(args, 'out');
  if (!out) throw new InputError('--out', format === 'onnx' ? 'give the .onnx file to write' : 'give the directory to write model.json and weights.bin to');
  const generation = intFlag(args, 'generation', 0);
  const { store, close } = await openStore(logger);
  try {
    let checkpoint = checkpointKeyOf(target);
    if (checkpoint !== undefined && generation !== undefined) throw new InputError('--generation', 'picks a generation of a RUN; a checkpoint is one already');
    if (checkpoint === undefined) {
      const record = await loadRunRecord(store, target);
      if (!record) throw new InputError('RUN', `no run ${target} in bucket ${store.bucket}`);
      checkpoint = checkpointOfRun(record, generation).key;
    }
    const exported = await exportCheckpoint(store, checkpoint, format);
    const written: string[] = [];
    if (format === 'onnx') {
      const file = path.resolve(out);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, exported.files[0].bytes);
      written.push(file);
    } else {
      const dir = path.resolve(out);
      mkdirSync(dir, { recursive: true });
      for (const f of exported.files) {
        writeFileSync(path.join(dir, f.name), f.bytes);
        written.push(path.join(dir, f.name));
      }
    }
    const m = exported.metadata;
    process.stderr.write(`${checkpoint} (${m.task}, input ${m.input_name} NHWC ${m.input_height}x${m.input_width}x${m.channels}) as ${format}\n`);
    process.stdout.write(`${written.join('\n')}\n`);
    return 0;
  } finally {
    await close();
  }
}
