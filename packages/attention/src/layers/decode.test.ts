/**
 * Incremental decoding (KVCache + flashDecode) against full recomputation (the whole prefix through the model
 * every step): same greedy tokens, same logits to float32 tolerance.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends, expectClose, expectThrowsMatching, randomArray} from '@tfjs-ext/core/testing';
import {causalLM} from './causal_lm';
import {generate, IncrementalDecoder} from './decode';

const VOCAB = 17;
const PROMPTS = [[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]];

/** A small GQA model with seeded weights large enough that logits are well separated (no argmax near-ties). */
function tinyModel(): tf.LayersModel {
  const model = causalLM({vocabSize: VOCAB, maxLength: 32, dModel: 16, numLayers: 2, numHeads: 4, numKvHeads: 2,
                          mlpDim: 32});
  tf.tidy(() => model.setWeights(model.getWeights().map((w, i) => {
    const name = (w as tf.Variable).name;
    // Small biases: a large output bias makes one token win every step, and the test vacuous.
    const scale = /bias|beta/.test(name) ? 0.05 : 0.6;
    return tf.tensor(Float32Array.from(randomArray(w.size, 100 + i, -scale, scale),
                                       (v) => (name.includes('gamma') ? 1 + v : v)), w.shape);
  })));
  return model;
}

describeBackends('causal LM decoding', () => {
  let model: tf.LayersModel;
  before(() => { model = tinyModel(); });
  after(() => model?.dispose());  // undefined when the backend was skipped

  it('greedy generation with the KV cache gives the tokens and logits of full recomputation', async () => {
    const prompts = PROMPTS;
    const cachedLogits: Float32Array[] = [], fullLogits: Float32Array[] = [];
    const cached = await generate(model, prompts, 6, {onLogits: (l) => cachedLogits.push(l.slice())});
    const full = await generate(model, prompts, 6, {useCache: false, onLogits: (l) => fullLogits.push(l.slice())});
    expect(cached).to.deep.equal(full);
    expect(new Set(cached.flat()).size).to.be.greaterThan(2, JSON.stringify(cached) + ' degenerate generation would make the test vacuous');
    cachedLogits.forEach((l, step) => {
      expectClose(l, fullLogits[step], {rtol: 1e-3, atol: 1e-4, name: `step ${step} logits`});
    });
  });

  it('sampling with the same seed gives the same tokens both ways', async () => {
    // The greedy test's shapes (webgl/webgpu reuse their compiled programs), fewer steps.
    const options = {temperature: 1, seed: 7};
    const cached = await generate(model, PROMPTS, 4, options);
    const full = await generate(model, PROMPTS, 4, {...options, useCache: false});
    expect(cached).to.deep.equal(full);
  });

  it('steps of several tokens after the prefill (flashDecode with Nq > 1) match the full pass', async () => {
    const tokens = [[1, 2, 3, 4, 5, 6, 7, 8, 9], [16, 15, 14, 13, 12, 11, 10, 9, 8]];
    const full = tf.tidy(() => model.predict(tf.tensor2d(tokens, undefined, 'int32')) as tf.Tensor3D);  // [2, 9, V]
    const decoder = new IncrementalDecoder(model, {batch: 2, maxLength: 12});
    const pieces: tf.Tensor3D[] = [];
    for (const [from, to] of [[0, 4], [4, 5], [5, 8], [8, 9]]) {
      const ids = tf.tensor2d(tokens.map((row) => row.slice(from, to)), undefined, 'int32');
      pieces.push(decoder.step(ids));
      ids.dispose();
    }
    expect(decoder.length).to.equal(9);
    const stepped = tf.concat(pieces, 1);
    expectClose(await stepped.data(), await full.data(), {rtol: 1e-3, atol: 1e-4, name: 'logits'});
    decoder.dispose();
    tf.dispose([full, stepped, ...pieces]);
  });

  it('frees everything on dispose and leaks nothing per step', async () => {
    const before = tf.memory().numTensors;
    const decoder = new IncrementalDecoder(model, {batch: 1, maxLength: 8});
    const afterCreate = tf.memory().numTensors;
    for (let t = 0; t < 3; t++) {
      const ids = tf.tensor2d([[t + 1]], undefined, 'int32');
      tf.dispose([decoder.step(ids), ids]);
      expect(tf.memory().numTensors).to.equal(afterCreate, `tensors after step ${t}`);
    }
    decoder.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('rejects steps past maxLength and ids of the wrong batch', () => {
    const decoder = new IncrementalDecoder(model, {batch: 1, maxLength: 4});
    const five = tf.tensor2d([[1, 2, 3, 4, 5]], undefined, 'int32');
    const batchOfTwo = tf.tensor2d([[1], [2]], undefined, 'int32');
    expectThrowsMatching(() => decoder.step(five), ['IncrementalDecoder.step', 'maxLength 4']);
    expectThrowsMatching(() => decoder.step(batchOfTwo), ['ids', 'shape [1, n]']);
    expectThrowsMatching(() => new IncrementalDecoder(model, {batch: 1, maxLength: 64}), ['maxLength 64', '32 positions']);
    tf.dispose([five, batchOfTwo]);
    decoder.dispose();
  });
});
