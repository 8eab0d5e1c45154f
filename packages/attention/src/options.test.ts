/**
 * Every public op and layer config of the package rejects unknown option keys (a typo such as `{casual: true}`
 * must not silently run non-causal attention), naming the key and the accepted ones; Keras base-layer keys pass.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends, expectThrowsMatching} from '@tfjs-ext/core/testing';
import {causalLM, flashAttention, flashAttentionWithLse, flashDecode, FlashMultiHeadAttention, generate,
        IncrementalDecoder, KVCache, LMHead, PositionEmbedding, TokenEmbedding, TransformerBlock} from './index';

/** Awaits `run` and asserts it rejects with a message containing every fragment. */
async function expectRejectsMatching(run: () => Promise<unknown>, fragments: string[]): Promise<void> {
  let message: string | undefined;
  try {
    await run();
  } catch (e) {
    message = e instanceof Error ? e.message : String(e);
  }
  expect(message, `expected an error mentioning ${fragments.join(', ')}`).to.be.a('string');
  for (const f of fragments) expect(message).to.include(f);
}

// Argument checks run before any backend work: one backend is enough.
describeBackends('attention: unknown option keys', () => {
  it('flashAttention and flashAttentionWithLse reject a misspelt option, naming it and the accepted ones', () => {
    const q = tf.ones([1, 2, 1, 4]) as tf.Tensor4D;
    expectThrowsMatching(() => flashAttention(q, q, q, {casual: true} as never),
                         ["flashAttention: unknown option 'casual'", 'accepted: causal, kvLengths, scale, window']);
    expectThrowsMatching(() => flashAttentionWithLse(q, q, q, {windows: [1, 0]} as never),
                         ["flashAttentionWithLse: unknown option 'windows'", 'accepted: causal']);
    flashAttention(q, q, q, {causal: true, scale: 0.5, window: [-1, -1]}).dispose();
    q.dispose();
  });

  it('flashDecode and KVCache.attend reject unknown options', () => {
    const q = tf.ones([1, 1, 2, 4]) as tf.Tensor4D;
    const cache = tf.ones([1, 3, 1, 4]) as tf.Tensor4D;
    expectThrowsMatching(() => flashDecode(q, cache, cache, [2], {numSplit: 2} as never),
                         ["flashDecode: unknown option 'numSplit'", 'accepted: numSplits, scale']);
    const kv = new KVCache({batch: 1, maxLength: 3, kvHeads: 1, headDim: 4});
    kv.append(tf.ones([1, 1, 1, 4]) as tf.Tensor4D, tf.ones([1, 1, 1, 4]) as tf.Tensor4D);
    expectThrowsMatching(() => kv.attend(q, {splits: 1} as never), ["flashDecode: unknown option 'splits'"]);
    tf.dispose([q, cache]);
    kv.dispose();
  });

  it('KVCache rejects unknown config keys, and a cache too large to allocate with the bytes it needs', () => {
    expectThrowsMatching(() => new KVCache({batch: 1, maxLength: 4, kvHeads: 1, headDim: 4, heads: 2} as never),
                         ["KVCache: unknown config key 'heads'", 'accepted: batch, headDim, kvHeads, maxLength']);
    expectThrowsMatching(() => new KVCache({batch: 1, maxLength: 1e9, kvHeads: 2, headDim: 64}),
                         ['KVCache: cannot allocate', '[1, 1000000000, 2, 64]', '1024000000000 bytes']);
  });

  it('layer configs reject unknown keys and accept the Keras base-layer keys', () => {
    const keras = {name: 'x', trainable: true, inputShape: [3, 8], dtype: 'float32'} as const;
    const cases: Array<[string, (extra: object) => unknown, object]> = [
      ['FlashMultiHeadAttention', (e) => new FlashMultiHeadAttention({numHeads: 2, keyDim: 4, ...e}), {casual: true}],
      ['TransformerBlock', (e) => new TransformerBlock({numHeads: 2, ...e}), {numKVHeads: 1}],
      ['TokenEmbedding', (e) => new TokenEmbedding({vocabSize: 5, dModel: 8, ...e}), {vocab: 5}],
      ['PositionEmbedding', (e) => new PositionEmbedding({maxLength: 5, ...e}), {maxLen: 5}],
      ['LMHead', (e) => new LMHead({vocabSize: 5, ...e}), {vocab: 5}],
    ];
    for (const [layer, make, bad] of cases) {
      const key = Object.keys(bad)[0];
      expectThrowsMatching(() => make(bad), [`${layer}: unknown config key '${key}'`, 'accepted: ', 'trainable']);
      expect(() => make(keras), layer).to.not.throw();
    }
  });

  it('causalLM, IncrementalDecoder and generate reject unknown keys', async () => {
    const config = {vocabSize: 7, maxLength: 8, dModel: 8, numLayers: 1, numHeads: 2};
    expectThrowsMatching(() => causalLM({...config, layers: 2} as never), ["causalLM: unknown config key 'layers'"]);
    const model = causalLM(config);
    expectThrowsMatching(() => new IncrementalDecoder(model, {batch: 1, maxLen: 4} as never),
                         ["IncrementalDecoder: unknown option 'maxLen'", 'accepted: batch, maxLength']);
    await expectRejectsMatching(() => generate(model, [[1, 2]], 1, {temp: 1} as never),
                                ["generate: unknown option 'temp'", 'accepted: onLogits, seed, temperature, useCache']);
    model.dispose();
  });
}, {only: ['cpu']});
