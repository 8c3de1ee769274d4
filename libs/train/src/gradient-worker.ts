/**
 * A gradient worker (a worker thread; see GradientReplicas): its own TF.js engine and wasm instance, a
 * copy of the model's architecture, and nothing else. Per step it takes the current weights and a shard
 * of the batch, augments the shard with the seed it was given, and returns that shard's gradients. It
 * keeps no state between steps: the main thread owns the weights and the optimizer.
 */
import { parentPort } from 'node:worker_threads';
import { createRng } from '@selftrain/random';
import { initBackend, tf, type BackendChoice } from '@selftrain/compute';
// Registers the zoo's custom layers (stochastic depth, ...) so the architecture can be rebuilt from JSON.
import '@selftrain/models';
import { imagesToTensor, targetsToTensor } from './batch';
import { shardGradients } from './classifier-gradients';
import { trainableVariables, variableShapes } from './trainable-variables';
import type { ReplicaInit, ReplicaReply, ReplicaStep } from './gradient-replicas';

let model: tf.LayersModel | undefined;
let variables: tf.Variable[] = [];
let init: ReplicaInit | undefined;

async function start(message: ReplicaInit): Promise<ReplicaReply> {
  init = message;
  const backend = await initBackend({ prefer: message.backend as BackendChoice, purpose: 'train' });
  if (backend.name !== message.backend) throw new Error(`the worker got backend ${backend.name}, the trainer runs on ${message.backend}`);
  model = await tf.models.modelFromJSON({ modelTopology: message.topology } as Parameters<typeof tf.models.modelFromJSON>[0]);
  variables = trainableVariables(model);
  const shapes = variableShapes(model);
  if (shapes !== message.variableShapes) throw new Error(`the rebuilt model's variables (${shapes}) differ from the trainer's (${message.variableShapes})`);
  return { kind: 'ready' };
}

function step(message: ReplicaStep): ReplicaReply {
  if (!model || !init) throw new Error('step before init');
  const { shape, numClasses, augment } = init;
  // Inside tidy: assign() takes the new tensor's data, and the tensor itself must go or each step leaks a copy of the weights.
  tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(message.weights[i], v.shape))));
  const out = tf.tidy(() => shardGradients(model!, variables, imagesToTensor(message.examples, shape, augment, createRng(message.seed)),
    targetsToTensor(message.examples, numClasses), message.humanCount, message.scale));
  const grads = out.grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose(out.grads);
  return { kind: 'gradients', id: message.id, grads, loss: out.loss, humanSum: out.humanSum, pseudoSum: out.pseudoSum, tensorsHeld: tf.memory().numTensors };
}

parentPort!.on('message', (message: ReplicaInit | ReplicaStep) => {
  const reply = async (): Promise<ReplicaReply> => (message.kind === 'init' ? start(message) : step(message));
  reply().then(
    (r) => parentPort!.postMessage(r, r.kind === 'gradients' ? r.grads.map((g) => g.buffer as ArrayBuffer) : []),
    (err: unknown) => parentPort!.postMessage({ kind: 'error', id: message.kind === 'step' ? message.id : undefined, message: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies ReplicaReply),
  );
});
