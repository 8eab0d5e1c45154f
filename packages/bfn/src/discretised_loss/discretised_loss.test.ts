import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {normalCdf64} from '../shared/reference_math';
import {discretisedSimd} from '../simd/module';
import {BFN_DISCRETISED_LOSS, bfnDiscretisedLoss} from './op';
import {discretisedLossReference, discretisedNormalProbs, discretisedOutputParams} from './reference';

const SIGMA1 = Math.sqrt(1e-3);

/**
 * Inputs that put the output distribution at chosen (muX, sigmaX) per element: mu = gamma muX, muEps = 0
 * (plus a small offset so muEps matters), lnSigmaEps = ln(sigmaX / B).
 */
function makeInputs(t: number[], targets: Array<[number, number]>, numBins: number, seed: number) {
  const batch = t.length, dim = targets.length;
  const r = randomArray(batch * dim, seed, 0, 1);
  const x = new Float64Array(batch * dim), mu = new Float64Array(batch * dim);
  const muEps = new Float64Array(batch * dim), lnSigmaEps = new Float64Array(batch * dim);
  for (let b = 0; b < batch; b++) {
    const tc = Math.max(t[b], 1e-6);
    const gamma = 1 - SIGMA1 ** (2 * tc), scale = Math.sqrt((1 - gamma) / gamma);
    for (let d = 0; d < dim; d++) {
      const i = b * dim + d;
      const [m, s] = targets[d];
      x[i] = Math.fround((2 * Math.floor(r[i] * numBins) + 1) / numBins - 1);
      muEps[i] = Math.fround(0.05 * Math.cos(i));
      mu[i] = Math.fround(gamma * (m + scale * muEps[i]));
      lnSigmaEps[i] = Math.fround(Math.log(s / scale));
    }
  }
  return {x, mu, muEps, lnSigmaEps, t: Float64Array.from(t, Math.fround), batch, dim};
}

describeBackends('bfn: bfnDiscretisedLoss', ({backend}) => {
  const hasKernel = ['cpu', 'wasm', 'webgpu'].includes(backend);
  const times = [0, 5e-7, 3e-6, 0.05, 0.5, 0.9, 1];
  // (muX, sigmaX): ordinary, deep left/right tails (mass beyond the outer bins), all mass in one bin
  // (sigmaX at minStd, muX on a bin centre), wide, and a sigmaX that hits the maxStd clamp.
  const targets: Array<[number, number]> = [[0.1, 0.3], [-3, 0.2], [4, 0.5], [0.0625, 1e-3], [-0.9375, 1e-3],
                                            [0.4, 2], [0.3, 50], [1.2, 0.05]];

  // the host kernels have two paths: the SIMD module (default where it validates) and plain JS; test both
  const paths = ['cpu', 'wasm'].includes(backend) && discretisedSimd.enabled ? ['SIMD', 'JS'] : [''];
  const onPath = (path: string) => {
    beforeEach(() => { discretisedSimd.enabled = path !== 'JS'; });
    afterEach(() => { discretisedSimd.enabled = paths.includes('SIMD'); });
  };
  for (const path of paths) describe(path ? `host path: ${path}` : 'kernel', () => {
    onPath(path);
    for (const numBins of [2, 16, 256]) {
      it(`matches the float64 reference at fixed inputs (K = ${numBins}: tails, one-bin mass, t < tMin, t = 1)`,
         async () => {
        const {x, mu, muEps, lnSigmaEps, t, batch, dim} = makeInputs(times, targets, numBins, numBins);
        const tensors = [x, mu, muEps, lnSigmaEps].map((v) => tf.tensor2d(Float32Array.from(v), [batch, dim]));
        const tT = tf.tensor1d(Float32Array.from(t));
        const o = {sigma1: SIGMA1, numBins};
        const run = () => bfnDiscretisedLoss(tensors[0], tensors[1], tensors[2], tensors[3], tT, o);
        const out = run();
        expect(out.shape).to.deep.equal([batch]);
        expect(lastDispatch(BFN_DISCRETISED_LOSS)?.path).to.equal(hasKernel ? 'kernel' : 'composite');
        const ref = discretisedLossReference(x, mu, muEps, lnSigmaEps, t, o);
        expectClose(await toFloat64(out), ref, {rtol: 1e-3, atol: 1e-4, name: 'loss'});
        const composite = withCompositeOnly(BFN_DISCRETISED_LOSS, run);
        expectClose(await toFloat64(composite), ref, {rtol: 1e-3, atol: 1e-4, name: 'composite loss'});
        tf.dispose([...tensors, tT, out, composite]);
      });
    }

    it('gradients in muEps and lnSigmaEps match finite differences; none reaches x, mu or t', async () => {
      const numBins = 16;
      const {x, mu, muEps, lnSigmaEps, t, batch, dim} =
          makeInputs([0, 0.3, 0.8], [[0.1, 0.3], [-0.7, 0.1], [0.5, 1.5]], numBins, 5);
      const o = {sigma1: SIGMA1, numBins};
      for (const composite of [false, true]) {
        const run = () => checkGradients({
          f: (a, m, e, l, tt) => bfnDiscretisedLoss(a, m, e, l, tt, o),
          reference: (a, m, e, l, tt) => discretisedLossReference(a, m, e, l, tt, o),
          inputs: [{shape: [batch, dim], values: x}, {shape: [batch, dim], values: mu},
                   {shape: [batch, dim], values: muEps}, {shape: [batch, dim], values: lnSigmaEps},
                   {shape: [batch], values: t}],
          wrt: [2, 3], eps: 1e-5, rtol: 3e-3, atol: 2e-3,
        });
        await (composite ? withCompositeOnly(BFN_DISCRETISED_LOSS, run) : run());
      }
      const ts = [x, mu, muEps, lnSigmaEps].map((v) => tf.tensor2d(Float32Array.from(v), [batch, dim]));
      const tT = tf.tensor1d(Float32Array.from(t));
      const grads = tf.grads((a: tf.Tensor, m: tf.Tensor, tt: tf.Tensor) =>
          tf.sum(bfnDiscretisedLoss(a, m, ts[2], ts[3], tt, o)))([ts[0], ts[1], tT]);
      for (const g of grads) expect(Array.from(await g.data()).every((v) => v === 0)).to.equal(true);
      tf.dispose([...ts, tT, ...grads]);
    });
  });

  it('does not leak (forward, gradient, composite)', async () => {
    const x = tf.fill([2, 3], 0.0625), mu = tf.fill([2, 3], 0.1), e = tf.fill([2, 3], 0.2), l = tf.zeros([2, 3]);
    const t = tf.tensor1d([0.1, 0.9]);
    const o = {sigma1: SIGMA1, numBins: 16};
    await expectNoLeaks(() => bfnDiscretisedLoss(x, mu, e, l, t, o), 'forward');
    await expectNoLeaks(() => tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(bfnDiscretisedLoss(x, mu, a, b, t, o)))([e, l]), 'gradient');
    await expectNoLeaks(() => withCompositeOnly(BFN_DISCRETISED_LOSS, () => bfnDiscretisedLoss(x, mu, e, l, t, o)),
                        'composite');
    tf.dispose([x, mu, e, l, t]);
  });

  it('rejects bad input with messages naming the argument', () => {
    const x = tf.zeros([2, 3]), t = tf.tensor1d([0.1, 0.9]);
    const o = {sigma1: SIGMA1, numBins: 16};
    expectThrowsMatching(() => bfnDiscretisedLoss(x, x, tf.zeros([2, 4]), x, t, o), ['muEps', 'shape of x', '[2, 3]']);
    expectThrowsMatching(() => bfnDiscretisedLoss(x, x, x, tf.zeros([2]), t, o), ['lnSigmaEps', 'rank >= 2']);
    expectThrowsMatching(() => bfnDiscretisedLoss(x, x, x, x, tf.zeros([2, 1]), o), ['t', '[batch] = [2]']);
    expectThrowsMatching(() => bfnDiscretisedLoss(x, x, x, x, t, {sigma1: 1.5, numBins: 16}), ['sigma1', '(0, 1)']);
    expectThrowsMatching(() => bfnDiscretisedLoss(x, x, x, x, t, {sigma1: 0.1, numBins: 1}), ['numBins', '>= 2']);
    expectThrowsMatching(() => bfnDiscretisedLoss(x, x, x, x, t, {sigma1: 0.1, numBins: 4, bins: 3} as never),
                         ["unknown option 'bins'"]);
    if (backend === 'cpu' || backend === 'wasm') {
      const xBad = tf.fill([2, 3], 1.5);
      expectThrowsMatching(() => bfnDiscretisedLoss(xBad, x, x, x, t, o), ['x must hold values in [-1, 1]']);
      xBad.dispose();
    }
    tf.dispose([x, t]);
  });

  if (backend !== 'cpu') return;
  it('the reference: probabilities sum to 1, all mass in one bin, tails go to the outer bins (float64)', () => {
    const p = discretisedNormalProbs(0.0625, 1e-3, 16);
    expect(p[8]).to.be.closeTo(1, 1e-9);
    expect(discretisedNormalProbs(-40, 0.5, 4)[0]).to.equal(1);
    const q = discretisedNormalProbs(0.2, 0.7, 7);
    expect(q.reduce((a, v) => a + v, 0)).to.be.closeTo(1, 1e-14);
    // the oracle's own CDF keeps its relative accuracy in the far tail: Phi(-10) = 7.62e-24
    expect(normalCdf64(-10) / 7.619853024160527e-24).to.be.closeTo(1, 1e-9);
    expect(normalCdf64(-3.5) / 2.326290790355250e-4).to.be.closeTo(1, 1e-9);
    const {muX, sigmaX} = discretisedOutputParams(Float64Array.of(0.3), Float64Array.of(1), Float64Array.of(0),
                                                  Float64Array.of(0), {sigma1: SIGMA1, numBins: 4});
    expect([muX[0], sigmaX[0]]).to.deep.equal([0, 1]);  // t = 0 < tMin
  });
});
