/**
 * mulberry32: 32 bits of state, uniform in [0, 1). Not for new code (use createRng): it stays because
 * results already stored depend on its exact sequence: the datasets in users' buckets were split and
 * composed with it (Fashion-MNIST's labeled/val/unlabeled choice, the scenes, user splits), every run and the
 * README's figures are on those splits, and the COCO fixture of @selftrain/metrics is checked against numbers
 * pycocotools computed on its sequence. The robustness tests' malformed requests also come from it, so a
 * seed printed by an old failure still reproduces it.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
