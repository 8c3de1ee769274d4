// Classification results as JSON Lines: one object per image, in input order.
import { AtomicFile } from './atomic-output';
import type { PredictionSink } from './prediction-sink';

export interface ClassificationLine {
  /** The image's path relative to INPUT. */
  file: string;
  class: string;
  probability: number;
  /** The k most probable classes, best first (the first is `class`). */
  top_k: { class: string; probability: number }[];
}

/** A sink writing `out` as JSONL; `topK` classes per line (at most the class count). */
export async function classificationJsonl(out: string, classNames: readonly string[], topK: number): Promise<PredictionSink<Float32Array>> {
  const file = await AtomicFile.open(out);
  const k = Math.min(topK, classNames.length);
  return {
    async add({ file: rel }, probs) {
      const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b).slice(0, k);
      const top = order.map((c) => ({ class: classNames[c], probability: round(probs[c]) }));
      const line: ClassificationLine = { file: rel, class: top[0].class, probability: top[0].probability, top_k: top };
      await file.write(`${JSON.stringify(line)}\n`);
    },
    async commit() {
      await file.commit();
      return [file.final];
    },
    abort: () => file.abort(),
  };
}

/** Seven significant digits: what float32 probabilities hold. */
function round(p: number): number {
  return Number(p.toPrecision(7));
}
