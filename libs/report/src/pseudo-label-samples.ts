// A few pseudo-labeled records per generation, read from the generation's first pseudo-label shard(s),
// as data-URI PNGs ready to inline.
import { readShard, type ImageRecord } from '@selftrain/data';
import type { RunRecord } from '@selftrain/proto';
import type { ObjectStore } from '@selftrain/storage';
import { PNG } from 'pngjs';

export interface PseudoLabelSample {
  key: string;
  /** data:image/png;base64,... */
  dataUri: string;
  width: number;
  height: number;
  /** The pseudo label: the hard label, or the argmax of a soft one. */
  classId: number;
  confidence: number;
  shard: string;
  /** The decoded record, for a SampleOverlay that draws its boxes or mask (detection / segmentation). */
  record: ImageRecord;
  /** Shown instead of the class name and confidence (detection / segmentation samples). */
  caption?: string;
}

export interface SampleGroup {
  generation: number;
  samples: PseudoLabelSample[];
}

export interface LoadSamplesOptions {
  /** Samples per generation (default 16). */
  perGeneration?: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngOf(r: ImageRecord): Buffer {
  // Shards keep the PNG as written; re-encode only when a record carries raw pixels alone.
  if (r.encoded && Buffer.from(r.encoded.subarray(0, 8)).equals(PNG_SIGNATURE)) return Buffer.from(r.encoded);
  const colorType = ({ 1: 0, 3: 2, 4: 6 } as Record<number, 0 | 2 | 6>)[r.channels] ?? 0;
  return PNG.sync.write({ width: r.width, height: r.height, data: Buffer.from(r.image) } as PNG, { colorType, inputColorType: colorType, inputHasAlpha: r.channels === 4, bitDepth: 8 });
}

export function pseudoLabelOf(r: ImageRecord): { classId: number; confidence: number } {
  if (r.probabilities && r.probabilities.length) {
    let best = 0;
    for (let i = 1; i < r.probabilities.length; i++) if (r.probabilities[i] > r.probabilities[best]) best = i;
    return { classId: best, confidence: r.confidence ?? r.probabilities[best] };
  }
  return { classId: r.label ?? -1, confidence: r.confidence ?? Number.NaN };
}

export function sampleFromRecord(r: ImageRecord, shard: string): PseudoLabelSample {
  return { key: r.key, dataUri: `data:image/png;base64,${pngOf(r).toString('base64')}`, width: r.width, height: r.height, ...pseudoLabelOf(r), shard, record: r };
}

/** Reads shards in record order until enough samples are found; generations without pseudo-labels are skipped. */
export async function loadPseudoLabelSamples(store: ObjectStore, record: RunRecord, opts: LoadSamplesOptions = {}): Promise<SampleGroup[]> {
  const want = opts.perGeneration ?? 16;
  const groups: SampleGroup[] = [];
  for (const g of record.generations) {
    const samples: PseudoLabelSample[] = [];
    for (const shard of g.pseudoShards) {
      if (samples.length >= want) break;
      if (Number(shard.records) === 0) continue;
      for (const r of readShard(await store.get(shard.key), shard.key)) {
        if (samples.length >= want) break;
        samples.push(sampleFromRecord(r, shard.key));
      }
    }
    if (samples.length) groups.push({ generation: g.index, samples });
  }
  return groups;
}
