import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {Mamba2} from './mamba2';
import {Mamba2Dims, mamba2Forward, Mamba2Weights} from './mamba2_math';
import {BlockWeights64, mamba2Reference, WEIGHT_NAMES} from './reference';

/** A tiny block: dModel 4, dInner 8, 2 heads of 4, N 3, conv 3, chunk 4. */
function tinyDims(nGroups: number): Mamba2Dims {
  return {dModel: 4, dInner: 8, dState: 3, dConv: 3, headDim: 4, nHeads: 2, nGroups, chunkSize: 4};
}

/** Random float32-representable weights of moderate size (the defaults' init is covered separately). */
function randomWeights(d: Mamba2Dims, seed: number): BlockWeights64 {
  const cDim = d.dInner + 2 * d.nGroups * d.dState, dProj = 2 * d.dInner + 2 * d.nGroups * d.dState + d.nHeads;
  return {
    inProjKernel: randomArray(d.dModel * dProj, seed, -0.6, 0.6),
    convKernel: randomArray(d.dConv * cDim, seed + 1, -0.6, 0.6),
    convBias: randomArray(cDim, seed + 2, -0.3, 0.3),
    dtBias: randomArray(d.nHeads, seed + 3, -1, 0.5),
    aLog: randomArray(d.nHeads, seed + 4, -1, 1),
    d: randomArray(d.nHeads, seed + 5, 0.5, 1.5),
    normWeight: randomArray(d.dInner, seed + 6, 0.5, 1.5),
    outProjKernel: randomArray(d.dInner * d.dModel, seed + 7, -0.6, 0.6),
  };
}

function weightShapes(d: Mamba2Dims): number[][] {
  const cDim = d.dInner + 2 * d.nGroups * d.dState, dProj = 2 * d.dInner + 2 * d.nGroups * d.dState + d.nHeads;
  return [[d.dModel, dProj], [d.dConv, cDim], [cDim], [d.nHeads], [d.nHeads], [d.nHeads], [d.dInner],
          [d.dInner, d.dModel]];
}

/** A built layer of dims `d` holding `w64`. */
function tinyLayer(d: Mamba2Dims, w64: BlockWeights64): Mamba2 {
  const layer = new Mamba2({dState: d.dState, dConv: d.dConv, expand: d.dInner / d.dModel, headDim: d.headDim,
                            nGroups: d.nGroups, chunkSize: d.chunkSize});
  tf.tidy(() => { layer.apply(tf.zeros([1, 1, d.dModel])); });  // builds it (and marks it used, so it can be disposed)
  const shapes = weightShapes(d);
  tf.tidy(() => layer.setWeights(WEIGHT_NAMES.map((k, i) => tf.tensor(Float32Array.from(w64[k]), shapes[i]))));
  return layer;
}

describeBackends('Mamba2 layer', () => {
  it('maps [batch, L, dModel] to the same shape; weights have the reference layout and init', async () => {
    const layer = new Mamba2({dState: 16, headDim: 8, seed: 3});
    const u = tf.randomNormal([2, 5, 16]);
    const y = layer.apply(u) as tf.Tensor;
    expect(y.shape).to.deep.equal([2, 5, 16]);
    expect((await toFloat64(y)).every(Number.isFinite)).to.equal(true);
    // dInner 32, 4 heads, convDim 32 + 2 * 16 = 64, dProj 2 * 32 + 32 + 4 = 100.
    expect(layer.weights.map((w) => w.shape)).to.deep.equal(
        [[16, 100], [4, 64], [64], [4], [4], [4], [32], [32, 16]]);
    const [, , , dtBias, aLog, dSkip] = layer.getWeights();
    const dt = await toFloat64(tf.softplus(dtBias));
    dt.forEach((v) => expect(v).to.be.within(1e-3 * (1 - 1e-5), 0.1 * (1 + 1e-5)));
    (await toFloat64(tf.neg(tf.exp(aLog)))).forEach((a) => expect(a).to.be.within(-16 - 1e-4, -1 + 1e-6));
    expect(Array.from(await dSkip.data())).to.deep.equal([1, 1, 1, 1]);
    tf.dispose([u, y]);
    layer.dispose();
  });

  for (const nGroups of [1, 2]) {
    it(`equals the float64 block reference (groups ${nGroups}, L 6 with chunk 4)`, async () => {
      const d = tinyDims(nGroups);
      const w64 = randomWeights(d, 10 * nGroups);
      const layer = tinyLayer(d, w64);
      const u64 = randomArray(2 * 6 * d.dModel, 7, -1.5, 1.5);
      const u = tf.tensor(Float32Array.from(u64), [2, 6, d.dModel]);
      const y = layer.apply(u) as tf.Tensor;
      const ref = mamba2Reference(d, w64, u64, 2, 6);
      expectClose(await y.data(), ref.output, {rtol: 2e-4, atol: 2e-5, name: 'output'});
      // The carried state equals the recurrence's too.
      const {output, state} = layer.forwardWithState(u);
      expectClose(await state.ssmState.data(), ref.ssmState, {rtol: 2e-4, atol: 2e-5, name: 'ssmState'});
      expectClose(await state.convState.data(), ref.convState, {rtol: 1e-5, atol: 1e-6, name: 'convState'});
      tf.dispose([u, y, output, state.convState, state.ssmState]);
      layer.dispose();
    });
  }

  it('gradients of the input and all eight weights match finite differences of the float64 reference', async () => {
    const d = tinyDims(2);
    const w64 = randomWeights(d, 40);
    const shapes = weightShapes(d);
    const seq = 5;
    await checkGradients({
      f: (u, ...ws) => {
        const w = Object.fromEntries(WEIGHT_NAMES.map((k, i) => [k, ws[i]])) as unknown as Mamba2Weights;
        return mamba2Forward(w, d, u).output;
      },
      reference: (u, ...ws) => {
        const w = Object.fromEntries(WEIGHT_NAMES.map((k, i) => [k, ws[i]])) as unknown as BlockWeights64;
        return mamba2Reference(d, w, u, 1, seq).output;
      },
      inputs: [{shape: [1, seq, d.dModel], values: randomArray(seq * d.dModel, 41, -1.5, 1.5)},
               ...WEIGHT_NAMES.map((k, i) => ({shape: shapes[i], values: w64[k]}))],
      rtol: 5e-3, atol: 2e-4,
    });
  });

  it('every trainable weight of the layer receives a finite, nonzero gradient', async () => {
    const layer = new Mamba2({dState: 4, headDim: 4, nGroups: 2, chunkSize: 4, seed: 5});
    const u = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 9);
    layer.apply(u);  // build
    const {value, grads} = tf.variableGrads(() => tf.sum(tf.square(layer.apply(u) as tf.Tensor)) as tf.Scalar,
                                            layer.trainableWeights.map((w) => w.read() as tf.Variable));
    expect(Object.keys(grads)).to.have.length(8);
    for (const [name, g] of Object.entries(grads)) {
      const values = await toFloat64(g);
      expect(values.every(Number.isFinite), `${name} finite`).to.equal(true);
      expect(values.some((v) => v !== 0), `${name} nonzero`).to.equal(true);
    }
    tf.dispose([u, value, ...Object.values(grads)]);
    layer.dispose();
  });

  it('saves and loads back (config and weights) with identical outputs', async () => {
    const input = tf.input({shape: [null, 8]});
    const block = new Mamba2({dState: 4, headDim: 4, nGroups: 2, dConv: 3, chunkSize: 4, seed: 11, name: 'mamba'});
    const model = tf.model({inputs: input, outputs: block.apply(input) as tf.SymbolicTensor});
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const reloaded = loaded.layers.find((l) => l instanceof Mamba2) as Mamba2;
    expect(reloaded.getConfig()).to.deep.equal(block.getConfig());
    const u = tf.randomNormal([2, 7, 8], 0, 1, 'float32', 2);
    const [a, b] = [model.predict(u) as tf.Tensor, loaded.predict(u) as tf.Tensor];
    expect(Array.from(await b.data())).to.deep.equal(Array.from(await a.data()));
    tf.dispose([u, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('does not leak (call, forwardWithState, step)', async () => {
    const layer = new Mamba2({dState: 4, headDim: 4, chunkSize: 4, seed: 1});
    const u = tf.randomNormal([1, 5, 8]);
    const token = tf.randomNormal([1, 8]);
    layer.apply(u);
    await expectNoLeaks(() => layer.apply(u) as tf.Tensor, 'Mamba2.call');
    await expectNoLeaks(() => {
      const first = layer.forwardWithState(u);
      const second = layer.forwardWithState(u, first.state);
      return [first.output, first.state.convState, first.state.ssmState, second.output, second.state.convState,
              second.state.ssmState];
    }, 'Mamba2.forwardWithState');
    await expectNoLeaks(() => {
      const state = layer.initialState(1);
      const {output, state: next} = layer.step(token, state);
      return [state.convState, state.ssmState, output, next.convState, next.ssmState];
    }, 'Mamba2.step');
    tf.dispose([u, token]);
    layer.dispose();
  });

  it('rejects bad configs and inputs with messages naming them', () => {
    expectThrowsMatching(() => new Mamba2({dstate: 16} as any), ['Mamba2', "unknown config key 'dstate'", 'dState']);
    expectThrowsMatching(() => new Mamba2({dState: 0}), ['Mamba2', 'dState', 'positive integer']);
    expectThrowsMatching(() => new Mamba2({chunkSize: 2.5}), ['Mamba2', 'chunkSize', 'positive integer']);
    expectThrowsMatching(() => new Mamba2({dtMin: 0.2, dtMax: 0.1}), ['Mamba2', 'dtMin']);
    expectThrowsMatching(() => new Mamba2({aInitRange: [-1, 4]}), ['Mamba2', 'aInitRange']);
    expectThrowsMatching(() => new Mamba2({headDim: 6}).build([null, null, 8]), ['Mamba2', 'headDim (6)', '16']);
    expectThrowsMatching(() => new Mamba2({headDim: 4, nGroups: 3}).build([null, null, 8]), ['nGroups (3)', '(4)']);
    const layer = new Mamba2({dState: 4, headDim: 4, seed: 1});
    tf.tidy(() => { layer.apply(tf.zeros([1, 1, 8])); });
    const u3 = tf.zeros([1, 3, 8]), u2 = tf.zeros([1, 8]), wrong = tf.zeros([1, 3, 6]), conv1 = tf.zeros([1, 3, 24]);
    expectThrowsMatching(() => layer.apply(wrong), ['Mamba2', 'input', '[batch, L, dModel]', 'dModel 8', '1,3,6']);
    expectThrowsMatching(() => layer.step(u3, layer.initialState(1)), ['Mamba2', 'u', '[batch, dModel]']);
    const state = layer.initialState(2);
    expectThrowsMatching(() => layer.step(u2, state), ['state.convState', '[1,3,24]', '2,3,24']);
    expectThrowsMatching(() => layer.forwardWithState(u3, {convState: conv1 as tf.Tensor3D,
                                                           ssmState: state.ssmState}),
                         ['state.ssmState', '[batch, H, headDim, dState]', '[1,4,4,4]']);
    expectThrowsMatching(() => layer.initialState(0), ['Mamba2.initialState', 'batch']);
    tf.dispose([u3, u2, wrong, conv1, state.convState, state.ssmState]);
    layer.dispose();
  });
});
