import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        randomNormalArray, toFloat64} from '@tfjs-ext/core/testing';
import {BFN_CONTINUOUS_LOSS, bfnContinuousLoss} from './op';
import {continuousLossReference} from './reference';

const SIGMA1 = Math.sqrt(1e-3);

/** Inputs where mu is a real flow sample of x at t (so xHat stays mostly inside [-1, 1]), with fixed times. */
function makeInputs(t: number[], dim: number, seed: number, sigma1 = SIGMA1) {
  const batch = t.length;
  const x = randomArray(batch * dim, seed, -0.95, 0.95);
  const eps = randomNormalArray(batch * dim, seed + 1);
  const epsHat = Float64Array.from(eps, (e, i) => Math.fround(e + 0.3 * Math.sin(i)));
  const mu = new Float64Array(batch * dim);
  for (let b = 0; b < batch; b++) {
    const gamma = 1 - sigma1 ** (2 * t[b]);
    for (let d = 0; d < dim; d++) {
      const i = b * dim + d;
      mu[i] = Math.fround(gamma * x[i] + Math.sqrt(gamma * (1 - gamma)) * eps[i]);
    }
  }
  return {x, mu, epsHat, t: Float64Array.from(t, Math.fround), batch};
}

describeBackends('bfn: bfnContinuousLoss', ({backend}) => {
  const hasKernel = ['cpu', 'wasm', 'webgpu'].includes(backend);
  // t = 0 and 5e-7 lie below tMin (xHat = 0); t = 1 carries the largest weight sigma1^-2 = 1e3.
  const times = [0, 5e-7, 2e-6, 0.01, 0.3, 0.77, 0.999, 1];

  it('matches the float64 reference at fixed inputs (t below tMin, near 0, t = 1, clipped predictions)', async () => {
    const dim = 37;
    const {x, mu, epsHat, t, batch} = makeInputs(times, dim, 3);
    epsHat[5 * dim + 3] = 40;  // pushes xHat far below -1: clipped
    const args = [tf.tensor2d(Float32Array.from(x), [batch, dim]), tf.tensor2d(Float32Array.from(mu), [batch, dim]),
                  tf.tensor2d(Float32Array.from(epsHat), [batch, dim]), tf.tensor1d(Float32Array.from(t))] as const;
    const out = bfnContinuousLoss(...args, {sigma1: SIGMA1});
    expect(out.shape).to.deep.equal([batch]);
    expect(lastDispatch(BFN_CONTINUOUS_LOSS)?.path).to.equal(hasKernel ? 'kernel' : 'composite');
    const ref = continuousLossReference(x, mu, epsHat, t, SIGMA1);
    expectClose(await toFloat64(out), ref, {rtol: 2e-4, atol: 1e-5, name: 'loss'});
    const composite = withCompositeOnly(BFN_CONTINUOUS_LOSS, () => bfnContinuousLoss(...args, {sigma1: SIGMA1}));
    expectClose(await toFloat64(composite), ref, {rtol: 2e-4, atol: 1e-5, name: 'composite loss'});
    tf.dispose([...args, out, composite]);
  });

  it('keeps float32 accuracy where the weight is 1e6 (sigma1^2 = 1e-6, t = 1) and accepts any rank', async () => {
    const sigma1 = 1e-3, dim = 12;
    const {x, mu, epsHat, t, batch} = makeInputs([0.5, 0.95, 1], dim, 9, sigma1);
    const args = [tf.tensor4d(Float32Array.from(x), [batch, 2, 3, 2]), tf.tensor4d(Float32Array.from(mu), [batch, 2, 3, 2]),
                  tf.tensor4d(Float32Array.from(epsHat), [batch, 2, 3, 2]), tf.tensor1d(Float32Array.from(t))] as const;
    const out = bfnContinuousLoss(...args, {sigma1});
    const ref = continuousLossReference(x, mu, epsHat, t, sigma1);
    expect(ref[2]).to.be.greaterThan(0.1);  // the weight at t = 1 is 1e6: small errors in xHat count
    expectClose(await toFloat64(out), ref, {rtol: 1e-3, atol: 1e-4, name: 'loss'});
    tf.dispose([...args, out]);
  });

  it('gradient in epsHat matches finite differences of the reference; none reaches x, mu or t', async () => {
    const dim = 5;
    const {x, mu, epsHat, t, batch} = makeInputs([0, 0.2, 0.6, 0.97], dim, 21);
    epsHat[1 * dim + 2] = 30;  // clipped: zero gradient
    for (const composite of [false, true]) {
      const run = () => checkGradients({
        f: (xt, mt, et, tt) => bfnContinuousLoss(xt, mt, et, tt, {sigma1: SIGMA1}),
        reference: (xs, ms, es, ts) => continuousLossReference(xs, ms, es, ts, SIGMA1),
        inputs: [{shape: [batch, dim], values: x}, {shape: [batch, dim], values: mu},
                 {shape: [batch, dim], values: epsHat}, {shape: [batch], values: t}],
        wrt: [2], eps: 1e-5, rtol: 3e-3, atol: 1e-3,
      });
      await (composite ? withCompositeOnly(BFN_CONTINUOUS_LOSS, run) : run());
    }
    const [xT, muT, eT, tT] = [tf.tensor2d(Float32Array.from(x), [batch, dim]), tf.tensor2d(Float32Array.from(mu), [batch, dim]),
                               tf.tensor2d(Float32Array.from(epsHat), [batch, dim]), tf.tensor1d(Float32Array.from(t))];
    const grads = tf.grads((a: tf.Tensor, m: tf.Tensor, tt: tf.Tensor) =>
        tf.sum(bfnContinuousLoss(a, m, eT, tt, {sigma1: SIGMA1})))([xT, muT, tT]);
    for (const g of grads) expect(Array.from(await g.data()).every((v) => v === 0)).to.equal(true);
    tf.dispose([xT, muT, eT, tT, ...grads]);
  });

  it('does not leak (forward, gradient, composite)', async () => {
    const x = tf.zeros([2, 3]), mu = tf.fill([2, 3], 0.1), e = tf.fill([2, 3], 0.2), t = tf.tensor1d([0.1, 0.9]);
    const o = {sigma1: SIGMA1};
    await expectNoLeaks(() => bfnContinuousLoss(x, mu, e, t, o), 'forward');
    await expectNoLeaks(() => tf.grad((et: tf.Tensor) => tf.sum(bfnContinuousLoss(x, mu, et, t, o)))(e), 'gradient');
    await expectNoLeaks(() => withCompositeOnly(BFN_CONTINUOUS_LOSS, () => bfnContinuousLoss(x, mu, e, t, o)), 'composite');
    tf.dispose([x, mu, e, t]);
  });

  it('rejects bad input with messages naming the argument', () => {
    const x = tf.zeros([2, 3]), t = tf.tensor1d([0.1, 0.9]);
    const o = {sigma1: SIGMA1};
    expectThrowsMatching(() => bfnContinuousLoss(x, tf.zeros([2, 4]), x, t, o), ['mu', 'shape of x', '[2, 3]']);
    expectThrowsMatching(() => bfnContinuousLoss(x, x, tf.zeros([3, 3]), t, o), ['epsHat', '[2, 3]']);
    expectThrowsMatching(() => bfnContinuousLoss(tf.zeros([2]), x, x, t, o), ['x', 'rank >= 2']);
    expectThrowsMatching(() => bfnContinuousLoss(x, x, x, tf.zeros([3]), o), ['t', '[batch] = [2]']);
    expectThrowsMatching(() => bfnContinuousLoss(x, x, x, t, {sigma1: 1}), ['sigma1', '(0, 1)']);
    expectThrowsMatching(() => bfnContinuousLoss(x, x, x, t, {sigma1: 0}), ['sigma1', '(0, 1)']);
    expectThrowsMatching(() => bfnContinuousLoss(x, x, x, t, {sigma1: 0.1, tmin: 1} as never), ["unknown option 'tmin'"]);
    if (backend === 'cpu' || backend === 'wasm') {
      const tBad = tf.tensor1d([0.1, 1.5]);
      expectThrowsMatching(() => bfnContinuousLoss(x, x, x, tBad, o), ['t must hold values in [0, 1]', '1.5']);
      tBad.dispose();
    }
    tf.dispose([x, t]);
  });
});
