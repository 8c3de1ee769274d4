import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '@selftrain/compute';
import { buildModel } from '@selftrain/models';
import { transferWeights } from './model-checkpoints';

test('a checkpoint pretrained on 4 classes initialises a 10-class model: all but the head', async () => {
  await initBackend({ purpose: 'train' });
  const coarse = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 4, width: 0.5, seed: 1 });
  const fine = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 10, width: 0.5, seed: 2 });
  const headBefore = fine.layers.find((l) => l.name === 'logits')!.getWeights()[0].dataSync().slice();
  assert.equal(transferWeights(coarse, fine), true);
  fine.layers.forEach((layer, i) => {
    const mine = layer.getWeights();
    if (layer.name === 'logits') {
      assert.deepEqual(mine[0].dataSync(), headBefore, 'the head keeps its fresh initialisation');
      return;
    }
    coarse.layers[i].getWeights().forEach((w, j) => assert.deepEqual(mine[j].dataSync(), w.dataSync(), `${layer.name} weight ${j}`));
  });
  // Same label space: nothing special, the caller copies every weight.
  const same = buildModel({ name: 'cnn-small', inputShape: [28, 28, 1], numClasses: 4, width: 0.5, seed: 3 });
  assert.equal(transferWeights(coarse, same), false);
  // Another architecture does not fit.
  const other = buildModel({ name: 'resnet-small', inputShape: [28, 28, 1], numClasses: 10, seed: 4 });
  assert.throws(() => transferWeights(coarse, other), /layers/);
  for (const m of [coarse, fine, same, other]) m.dispose();
});
