import type { ResolvedLabelingOptions } from './labeling-options';

export interface Prediction {
  index: number;
  label: number;
  confidence: number;
}

export interface Selection {
  /** Indices of the input records to write, in order (an index appears twice when duplicated). */
  kept: number[];
  keptPerClass: number[];
  droppedPerClass: number[];
  duplicated: number;
}

/**
 * Which records become pseudo-labels. Plain: confidence >= threshold. Balanced (Noisy Student): records
 * with confidence > balance_min_confidence, at most per_class_cap per class (most confident first), and
 * classes with fewer are filled up to the cap by duplicating their records.
 */
export function selectPseudoLabels(predictions: Prediction[], numClasses: number, o: ResolvedLabelingOptions): Selection {
  const keptPerClass = new Array<number>(numClasses).fill(0);
  const droppedPerClass = new Array<number>(numClasses).fill(0);
  if (!o.balance) {
    const kept: number[] = [];
    for (const p of predictions) {
      if (p.confidence >= o.threshold) { kept.push(p.index); keptPerClass[p.label] += 1; }
      else droppedPerClass[p.label] += 1;
    }
    return { kept, keptPerClass, droppedPerClass, duplicated: 0 };
  }
  const byClass: Prediction[][] = Array.from({ length: numClasses }, () => []);
  for (const p of predictions) {
    if (p.confidence > o.balanceMinConfidence) byClass[p.label].push(p);
    else droppedPerClass[p.label] += 1;
  }
  const kept: number[] = [];
  let duplicated = 0;
  byClass.forEach((list, c) => {
    list.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
    const top = list.slice(0, o.perClassCap);
    droppedPerClass[c] += list.length - top.length;
    for (const p of top) kept.push(p.index);
    keptPerClass[c] = top.length;
    for (let i = 0; top.length > 0 && top.length + i < o.perClassCap; i++) {
      kept.push(top[i % top.length].index);
      duplicated += 1;
    }
  });
  return { kept, keptPerClass, droppedPerClass, duplicated };
}
