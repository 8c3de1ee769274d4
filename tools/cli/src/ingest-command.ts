import { ingestCoco, ingestFashionMnist, ingestVocSegmentation } from '@selftrain/data';
import { InputError } from '@selftrain/errors';
import type { Logger } from '@selftrain/logger';
import { openStore, ProgressDisplay } from '@selftrain/pipeline';
import { flag } from './cli-args';

/** `selftrain ingest fashion-mnist|coco|voc ...`: writes a dataset to the bucket (reused when already there). */
export async function ingestCommand(args: string[], logger: Logger): Promise<number> {
  const display = new ProgressDisplay();
  const { store, close } = await openStore(logger);
  try {
    const n = (name: string) => (flag(args, name) === undefined ? undefined : Number(flag(args, name)));
    const required = (name: string) => {
      const v = flag(args, name);
      if (!v) throw new InputError(name, 'is required');
      return v;
    };
    const onProgress = (done: number, total: number) => display.update('ingest', done, total);
    let result: { manifestArtifact: { key: string }; manifest: { splits: { name: string; records: number }[] }; reused?: boolean };
    switch (args[0]) {
      case 'fashion-mnist':
        result = await ingestFashionMnist(store, {
          sourceDir: flag(args, '--source'), prefix: flag(args, '--prefix'), labelsPerClass: n('--labels-per-class'), seed: n('--seed'),
          labelSpace: flag(args, '--label-space') as 'fine' | 'coarse' | undefined, onProgress,
        });
        break;
      case 'coco':
        result = await ingestCoco(store, {
          annotationFile: required('--annotations'), imageDir: required('--images'), unlabeledDir: flag(args, '--unlabeled'),
          prefix: required('--prefix'), seed: n('--seed'), onProgress,
        });
        break;
      case 'voc':
        result = await ingestVocSegmentation(store, {
          imageDir: required('--images'), maskDir: required('--masks'), prefix: required('--prefix'), seed: n('--seed'),
          classNames: flag(args, '--classes')?.split(','), onProgress,
        });
        break;
      default:
        throw new InputError('source', `unknown source ${JSON.stringify(args[0] ?? '')}; supported: fashion-mnist, coco, voc`);
    }
    display.finish('ingest', `${result.reused ? 'already there' : 'written'}: ${result.manifestArtifact.key} (${result.manifest.splits.map((s) => `${s.name} ${s.records}`).join(', ')})`);
    return 0;
  } finally {
    await close();
  }
}
