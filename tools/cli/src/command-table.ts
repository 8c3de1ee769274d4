// Every command the CLI knows: its usage lines, its flags (what parseArgs accepts) and how to load it.
// A command's module is imported only when it runs, so `status`, `report`, `show` and every `--help` never
// load TF.js, the gRPC clients or the driver. To add a command (or an `ingest` source), add an entry here
// and a module exporting a Command.
import type { Logger } from '@selftrain/logger';
import type { FlagSpec, ParsedArgs } from './cli-args';

export type Command = (args: ParsedArgs, logger: Logger) => Promise<number>;

export interface CommandSpec {
  /** Usage lines, each starting with `selftrain ...`; continuation lines start with spaces. */
  usage: string;
  flags?: FlagSpec;
  /** Plain arguments accepted (default 0). */
  positionals?: number;
  load?: () => Promise<Command>;
  /** Subcommands chosen by the first plain argument (`ingest images`). */
  subcommands?: Record<string, CommandSpec>;
}

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
/** The flags every photo ingest (COCO, VOC) takes. */
const PHOTO_FLAGS = { 'image-size': str, resize: str, channels: str, 'skip-bad': bool };

export const COMMANDS: Record<string, CommandSpec> = {
  run: {
    usage: `selftrain run [SPEC.yaml|SPEC.json]   run teacher -> labeler -> student -> evaluator (default spec: Fashion-MNIST)
selftrain run --resume RUN            continue a run with the spec it started with (finished stages are reused)
selftrain run SPEC --teacher-only     the supervised baseline: train and score the generation-0 teacher only (a
                                      ceiling when the spec keeps every label); the same run continues later`,
    flags: { resume: str, 'teacher-only': bool },
    positionals: 1,
    load: async () => (await import('./run-command.js')).runCommand,
  },
  status: {
    usage: 'selftrain status RUN [--json]         print a run record (--json: all of it, as JSON on stdout)',
    flags: { json: bool },
    positionals: 1,
    load: async () => (await import('./status-command.js')).statusCommand,
  },
  experiment: {
    usage: `selftrain experiment GRID.yaml [--parallel N]
                                      run a grid (labeled fraction x augmentation x init x self-training, over seeds)
                                      and print the paper's tables; reruns reuse every finished stage`,
    flags: { parallel: str },
    positionals: 1,
    load: async () => (await import('./experiment-command.js')).experimentCommand,
  },
  report: {
    usage: `selftrain report RUN [--out FILE]     write the run's report, one self-contained HTML file (default
                                      SELFTRAIN_HOME/reports/RUN.html, or ./RUN-report.html without SELFTRAIN_HOME)`,
    flags: { out: str },
    positionals: 1,
    load: async () => (await import('./report-command.js')).reportCommand,
  },
  show: {
    usage: `selftrain show RUN [--out FILE] [--count N] [--generation G]
                                      write a PNG grid of the run's pseudo-labels (default 24, from the last generation
                                      with pseudo-labels): boxes, masks or class frames; default SELFTRAIN_HOME/reports/
                                      RUN-samples.png, or ./RUN-samples.png without SELFTRAIN_HOME`,
    flags: { out: str, count: str, generation: str },
    positionals: 1,
    load: async () => (await import('./show-command.js')).showCommand,
  },
  ingest: {
    usage: 'selftrain ingest SOURCE ...           write a dataset to the bucket (reused when already there); SOURCE:',
    subcommands: {
      'fashion-mnist': {
        usage: 'selftrain ingest fashion-mnist [--source DIR] [--labels-per-class N] [--seed N] [--prefix P] [--label-space fine|coarse]',
        flags: { source: str, 'labels-per-class': str, seed: str, prefix: str, 'label-space': str },
        load: async () => (await import('./ingest-command.js')).ingestFashionMnistCommand,
      },
      images: {
        usage: `selftrain ingest images --labeled DIR [--unlabeled DIR|s3://BUCKET/PREFIX]... [--test DIR]
    [--labels-per-class N] [--val-per-class N] [--image-size N|HxW] [--resize stretch|letterbox|center-crop]
    [--channels 1|3] [--seed N] [--skip-bad] [--prefix P]
                                      your own photos for classification: --labeled and --test are ImageFolder trees
                                      (one subfolder per class), --unlabeled any tree of JPEG/PNG/WebP or a bucket prefix
                                      (repeat it for several); images resized once to --image-size (default: the labeled
                                      images' size when they share one) by --resize (default center-crop); --skip-bad
                                      leaves bad files out (listed in the manifest) instead of stopping on the first;
                                      default prefix datasets/images-<digest of the files and options>`,
        flags: {
          labeled: str, unlabeled: { type: 'string', multiple: true }, test: str, 'labels-per-class': str, 'val-per-class': str,
          'image-size': str, resize: str, channels: str, seed: str, 'skip-bad': bool, prefix: str,
        },
        load: async () => (await import('./ingest-images-command.js')).ingestImagesCommand,
      },
      coco: {
        usage: `selftrain ingest coco --annotations INSTANCES.json --images DIR [--unlabeled DIR] --prefix P [--seed N] PHOTO-FLAGS
selftrain ingest voc --images DIR --masks DIR --prefix P [--classes background,a,b,...] [--seed N] PHOTO-FLAGS
selftrain ingest voc-detection --root VOCDIR --prefix P [--classes a,b,...] [--seed N] PHOTO-FLAGS
                                      bring your own detection / segmentation data (run it with dataset.source: bucket);
                                      voc-detection reads VOCDIR/Annotations/*.xml, JPEGImages, ImageSets/Main splits.
                                      PHOTO-FLAGS: [--image-size N|HxW] [--resize letterbox|stretch|center-crop]
                                      [--channels 3|1] [--skip-bad]; default size: the photos' own when they share one,
                                      else a square of their most common longest side (multiple of 32, 128-512); default
                                      fit letterbox (boxes exact, mask padding = ignore)`,
        flags: { annotations: str, images: str, unlabeled: str, prefix: str, seed: str, ...PHOTO_FLAGS },
        load: async () => (await import('./ingest-command.js')).ingestCocoCommand,
      },
      voc: {
        usage: '',
        flags: { images: str, masks: str, prefix: str, classes: str, seed: str, ...PHOTO_FLAGS },
        load: async () => (await import('./ingest-command.js')).ingestVocCommand,
      },
      'voc-detection': {
        usage: '',
        flags: { root: str, prefix: str, classes: str, seed: str, ...PHOTO_FLAGS },
        load: async () => (await import('./ingest-command.js')).ingestVocDetectionCommand,
      },
    },
  },
  export: {
    usage: `selftrain export RUN|CHECKPOINT --format onnx|tfjs [--generation G] --out PATH
                                      a run's student (last generation, or G) or a checkpoint (s3://KEY) as an ONNX file
                                      or a stock TF.js model directory (model.json + weights.bin); see docs/adr/0006`,
    flags: { format: str, generation: str, out: str },
    positionals: 1,
    load: async () => (await import('./export-command.js')).exportCommand,
  },
  predict: {
    usage: `selftrain predict MODEL INPUT --out PATH [--batch-size N] [--top-k K] [--generation G]
                                      run a model on images: MODEL is a run (its student; last generation, or G), a
                                      checkpoint (s3://KEY) or a .onnx file from selftrain export; INPUT a directory
                                      (recursive; JPEG/PNG/WebP) or s3://BUCKET/PREFIX. Writes classification JSONL (file,
                                      class, probability, top-k, default 5), detection COCO results JSON (+ PATH's
                                      .images.json: file names, sizes, categories) or segmentation palette PNG masks in
                                      the directory PATH; default batch 32`,
    flags: { out: str, 'batch-size': str, 'top-k': str, generation: str },
    positionals: 2,
    load: async () => (await import('./predict-command.js')).predictCommand,
  },
  up: {
    usage: 'selftrain up [--labelers N]           start the services locally and print their addresses',
    flags: { labelers: str },
    load: async () => (await import('./up-command.js')).upCommand,
  },
};

/** The usage lines of a command and its subcommands, indented under `usage:`. */
export function usageOf(spec: CommandSpec): string {
  const lines = [spec.usage, ...Object.values(spec.subcommands ?? {}).map((s) => s.usage)];
  return lines.join('\n').split('\n').map((l) => `  ${l}`).join('\n');
}
