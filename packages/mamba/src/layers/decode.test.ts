import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {compareClose, describeBackends, expectNoLeaks, expectThrowsMatching} from '@tfjs-ext/core/testing';
import {generate, MambaDecoder} from './decode';
import {Mamba2} from './mamba2';
import {Mamba2State} from './mamba2_math';
import {mambaLM, mambaLMParts} from './mamba_lm';

/** Largest |a - b| relative to the largest |b| (1e-7 is float32's epsilon). */
function relativeMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

describeBackends('Mamba2 recurrent decoding', () => {
  it('step() token by token equals the full-sequence call (L 11, chunk 4, 2 groups), final state too', async () => {
    const layer = new Mamba2({dState: 6, headDim: 4, nGroups: 2, dConv: 4, chunkSize: 4, seed: 7});
    const [batch, seq, dModel] = [2, 11, 8];
    const u = tf.randomNormal([batch, seq, dModel], 0, 1, 'float32', 3);
    const {output: full, state: fullState} = layer.forwardWithState(u);  // [batch, seq, dModel]
    let state: Mamba2State = layer.initialState(batch);
    const stepped: tf.Tensor[] = [];
    for (let t = 0; t < seq; t++) {
      const token = tf.tidy(() => tf.reshape(tf.slice(u, [0, t, 0], [batch, 1, dModel]), [batch, dModel]));
      const {output, state: next} = layer.step(token, state);
      tf.dispose([token, state.convState, state.ssmState]);
      state = next;
      stepped.push(output);
    }
    const steps = tf.stack(stepped, 1);  // [batch, seq, dModel]
    const error = relativeMaxError(await steps.data(), await full.data());
    expect(error, `max error relative to max |output|: ${error}`).to.be.below(2e-6);
    expect(relativeMaxError(await state.ssmState.data(), await fullState.ssmState.data())).to.be.below(2e-6);
    // The conv state holds projected inputs: one-row and many-row matmuls may round differently (webgpu).
    expect(relativeMaxError(await state.convState.data(), await fullState.convState.data())).to.be.below(2e-6);
    tf.dispose([u, full, fullState.convState, fullState.ssmState, state.convState, state.ssmState, steps,
                ...stepped]);
    layer.dispose();
  });

  it('a prefill continued in pieces (5 + 1 + 4 tokens) equals one call over all 10', async () => {
    const layer = new Mamba2({dState: 4, headDim: 4, chunkSize: 4, seed: 2});
    const u = tf.randomNormal([1, 10, 8], 0, 1, 'float32', 4);
    const full = layer.apply(u) as tf.Tensor;
    const a = layer.forwardWithState(tf.slice(u, [0, 0, 0], [1, 5, 8]));
    const b = layer.step(tf.reshape(tf.slice(u, [0, 5, 0], [1, 1, 8]), [1, 8]), a.state);
    const c = layer.forwardWithState(tf.slice(u, [0, 6, 0], [1, 4, 8]), b.state);
    const pieces = tf.concat([a.output, tf.expandDims(b.output, 1), c.output], 1);
    expect(relativeMaxError(await pieces.data(), await full.data())).to.be.below(2e-6);
    tf.dispose([u, full, pieces, a.output, a.state.convState, a.state.ssmState, b.output, b.state.convState,
                b.state.ssmState, c.output, c.state.convState, c.state.ssmState]);
    layer.dispose();
  });

  it('greedy generation with the recurrent state gives the tokens of full recomputation', async () => {
    const model = mambaLM({vocabSize: 11, dModel: 8, numLayers: 2, dState: 4, headDim: 4, chunkSize: 4, seed: 3});
    const logits: Float32Array[][] = [[], []];
    const prompts = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]];
    const withState = await generate(model, prompts, 4, {onLogits: (l) => logits[0].push(l.slice())});
    const recomputed = await generate(model, prompts, 4, {useState: false, onLogits: (l) => logits[1].push(l.slice())});
    expect(withState).to.deep.equal(recomputed);
    logits[0].forEach((l, s) => {
      const report = compareClose(l, logits[1][s], {rtol: 1e-4, atol: 1e-5, name: `logits of step ${s}`});
      expect(report.ok, report.message).to.equal(true);
    });
    model.dispose();
  });

  it('MambaDecoder does not leak and rejects ids of the wrong shape', async () => {
    const model = mambaLM({vocabSize: 7, dModel: 8, numLayers: 1, dState: 4, headDim: 4, chunkSize: 4, seed: 1});
    const prompt = tf.tensor2d([[1, 2, 3]], undefined, 'int32');
    const next = tf.tensor2d([[4]], undefined, 'int32');
    await expectNoLeaks(() => {
      const decoder = new MambaDecoder(model, {batch: 1});
      const out = [decoder.step(prompt), decoder.step(next), decoder.step(next)];
      expect(decoder.length).to.equal(5);
      decoder.dispose();
      return out;
    }, 'MambaDecoder');
    const decoder = new MambaDecoder(model, {batch: 2});
    expectThrowsMatching(() => decoder.step(prompt), ['MambaDecoder.step', 'ids', '[2, n]', '1,3']);
    expectThrowsMatching(() => new MambaDecoder(model, {batch: 0}), ['MambaDecoder', 'options.batch']);
    expectThrowsMatching(() => mambaLMParts(tf.sequential({layers: [tf.layers.dense({units: 1, inputShape: [1]})]})),
                         ['mambaLMParts', 'mambaLM']);
    expectThrowsMatching(() => mambaLM({vocabSize: 7, dModel: 8, numLayers: 1, dstate: 4} as any),
                         ['mambaLM', "unknown config key 'dstate'"]);
    tf.dispose([prompt, next]);
    model.dispose();
  });
});
