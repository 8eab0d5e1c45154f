/**
 * Keras padding masks reach the attention layers (`tf.layers.embedding({maskZero: true})` upstream): padding, on
 * the right or the left, no longer changes the outputs at the real positions (float32 round-off), with and
 * without causal, and gradients flow; a mask the layer cannot honour is rejected, never ignored.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends, expectClose, expectThrowsMatching} from '@tfjs-ext/core/testing';
import {FlashMultiHeadAttention} from './multi_head_attention';
import {TransformerBlock} from './transformer_block';

const VOCAB = 11, DIM = 16;
const TOKENS = [3, 7, 1, 9, 4];

/** ids -> embedding(maskZero) -> `layer` -> output, as one model (masks travel as in model.predict). */
function model(layer: tf.layers.Layer, seed: number): tf.LayersModel {
  const ids = tf.input({shape: [null], dtype: 'int32'});
  const x = tf.layers.embedding({inputDim: VOCAB, outputDim: DIM, maskZero: true,
                                 embeddingsInitializer: tf.initializers.randomUniform({minval: -1, maxval: 1, seed})})
      .apply(ids) as tf.SymbolicTensor;
  return tf.model({inputs: ids, outputs: layer.apply(x) as tf.SymbolicTensor});
}

/** Largest |difference| between the outputs at the real positions of padded rows and of the unpadded sequence. */
async function paddingEffect(m: tf.LayersModel): Promise<{right: number; left: number}> {
  const pad = 3;
  const clean = m.predict(tf.tensor2d([TOKENS], undefined, 'int32')) as tf.Tensor;
  const padded = m.predict(tf.tensor2d([[...TOKENS, ...Array(pad).fill(0)], [...Array(pad).fill(0), ...TOKENS]],
                                       undefined, 'int32')) as tf.Tensor;  // [2, 8, DIM]
  const n = TOKENS.length;
  const want = await clean.data();
  const right = await tf.slice(padded, [0, 0, 0], [1, n, DIM]).data();
  const left = await tf.slice(padded, [1, pad, 0], [1, n, DIM]).data();
  const maxDiff = (a: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - want[i])));
  expectClose(right, want, {rtol: 1e-5, atol: 1e-5, name: 'right padding: real positions'});
  expectClose(left, want, {rtol: 1e-5, atol: 1e-5, name: 'left padding: real positions'});
  tf.dispose([clean, padded]);
  return {right: maxDiff(right), left: maxDiff(left)};
}

describeBackends('attention layers: Keras padding masks', () => {
  for (const causal of [false, true]) {
    it(`FlashMultiHeadAttention (GQA, causal ${causal}): padding does not change the real positions`, async () => {
      const m = model(new FlashMultiHeadAttention({numHeads: 4, numKvHeads: 2, keyDim: 4, causal}), 1);
      await paddingEffect(m);
      m.dispose();
    });

    it(`TransformerBlock (causal ${causal}): padding does not change the real positions; mask passes through`,
       async () => {
         const block = new TransformerBlock({numHeads: 2, causal});
         const m = model(block, 2);
         await paddingEffect(m);
         if (!causal) return m.dispose();
         // The mask reaches the next layer: a second block sees it too.
         const ids = tf.input({shape: [null], dtype: 'int32'});
         const x = tf.layers.embedding({inputDim: VOCAB, outputDim: DIM, maskZero: true}).apply(ids) as tf.SymbolicTensor;
         const two = tf.model({inputs: ids, outputs: new TransformerBlock({numHeads: 2, causal}).apply(
             new TransformerBlock({numHeads: 2, causal}).apply(x)) as tf.SymbolicTensor});
         await paddingEffect(two);
         tf.dispose([m, two] as unknown as tf.Tensor[]);
       });
  }

  it('rejects a value mask of cross-attention that did not reach the layer (model.predict)', () => {
    const query = tf.input({shape: [null, DIM]});
    const ids = tf.input({shape: [null], dtype: 'int32'});
    const value = tf.layers.embedding({inputDim: VOCAB, outputDim: DIM, maskZero: true}).apply(ids) as tf.SymbolicTensor;
    const out = new FlashMultiHeadAttention({numHeads: 2, keyDim: 8}).apply([query, value]) as tf.SymbolicTensor;
    const m = tf.model({inputs: [query, ids], outputs: out});
    const q = tf.ones([1, 3, DIM]), v = tf.tensor2d([[1, 2, 0]], undefined, 'int32');
    expectThrowsMatching(() => m.predict([q, v]), ['FlashMultiHeadAttention', 'value/key input', 'mask']);
    tf.dispose([q, v]);
  });

  it('honours a key mask passed per input to a direct call of cross-attention', async () => {
    const layer = new FlashMultiHeadAttention({numHeads: 2, keyDim: 8});
    const q = tf.randomUniform([1, 3, DIM], -1, 1, 'float32', 4);
    const v = tf.randomUniform([1, 4, DIM], -1, 1, 'float32', 5);
    const vPadded = tf.concat([v, tf.randomUniform([1, 2, DIM], -1, 1, 'float32', 6)], 1);
    const mask = tf.tensor2d([[1, 1, 1, 1, 0, 0]], undefined, 'bool');
    const want = layer.apply([q, v]) as tf.Tensor;
    const got = layer.apply([q, vPadded], {mask: [null, mask]}) as tf.Tensor;
    expectClose(await got.data(), await want.data(), {rtol: 1e-5, atol: 1e-5, name: 'key-masked cross-attention'});
    const ignored = layer.apply([q, vPadded]) as tf.Tensor;
    expect(Math.max(...Array.from(await tf.sub(ignored, want).abs().data()))).to.be.greaterThan(1e-3);
    tf.dispose([q, v, vPadded, mask, want, got, ignored]);
  });
});

// The masked path's gradient (permutation matMuls, topk, oneHot, flashAttention's gradient): not on webgpu, where
// SwiftShader's shader compiles make it cost ~20 s; the forward tests above cover the same ops there.
describeBackends('attention layers: Keras padding masks, gradients', () => {
  it('gradients flow through the masked path and equal the unpadded ones at the real positions', async () => {
    const layer = new FlashMultiHeadAttention({numHeads: 2, keyDim: 8, causal: true});
    const x = tf.randomUniform([1, 5, DIM], -1, 1, 'float32', 3);
    const padded = tf.concat([tf.zeros([1, 2, DIM]), x], 1);           // left padding
    const mask = tf.tensor2d([[0, 0, 1, 1, 1, 1, 1]], undefined, 'bool');
    const loss = (input: tf.Tensor, m: tf.Tensor | null, from: number) => () => tf.sum(tf.square(tf.slice(
        layer.apply(input, m === null ? {} : {mask: m}) as tf.Tensor, [0, from, 0], [1, 5, DIM]))) as tf.Scalar;
    tf.dispose(layer.apply(x) as tf.Tensor);  // builds the weights
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const clean = tf.variableGrads(loss(x, null, 0), vars);
    const masked = tf.variableGrads(loss(padded, mask, 2), vars);
    expectClose(await masked.value.data(), await clean.value.data(), {rtol: 1e-5, atol: 1e-5, name: 'loss'});
    for (const name of Object.keys(clean.grads)) {
      expectClose(await masked.grads[name].data(), await clean.grads[name].data(),
                  {rtol: 1e-4, atol: 1e-5, name: `gradient of ${name}`});
    }
    tf.dispose([x, padded, mask, clean.value, masked.value, ...Object.values(clean.grads),
                ...Object.values(masked.grads)]);
  });

}, {only: ['cpu', 'wasm', 'webgl', 'tensorflow']});
