/**
 * Training batches of the character LM examples (the transformer's and the Mamba-2's: both draw the same
 * batches from the same seed), and their loss.
 */
import * as tf from '@tensorflow/tfjs';
import {causalLMLoss} from '@tfjs-ext/attention';

/** The batch sampler's generator, with its state exposed so a checkpoint can restore it. */
export class BatchRandom {
  constructor(public state: number) {}
  next(): number {
    this.state = (Math.imul(this.state ^ (this.state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return this.state / 4294967296;
  }
}

/** `count` random windows of `context + 1` tokens: inputs are the first `context`, targets the last. */
export function sampleBatch(tokens: Int32Array, count: number, context: number, random: BatchRandom) {
  const inputs = new Int32Array(count * context), targets = new Int32Array(count * context);
  for (let b = 0; b < count; b++) {
    const start = Math.floor(random.next() * (tokens.length - context - 1));
    inputs.set(tokens.subarray(start, start + context), b * context);
    targets.set(tokens.subarray(start + 1, start + context + 1), b * context);
  }
  return {inputs: tf.tensor2d(inputs, [count, context], 'int32'), targets: tf.tensor2d(targets, [count, context], 'int32')};
}

/** Mean next-token cross-entropy of `model` (logits [batch, context, vocab]) in training mode. */
export function crossEntropy(model: tf.LayersModel, inputs: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return causalLMLoss(model.apply(inputs, {training: true}) as tf.Tensor3D, targets);
}
