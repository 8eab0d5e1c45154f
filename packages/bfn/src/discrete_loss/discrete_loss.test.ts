import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray, rng,
        toFloat64} from '@tfjs-ext/core/testing';
import {BFN_DISCRETE_LOSS, bfnDiscreteLoss} from './op';
import {discreteLossReference} from './reference';

function makeInputs(batch: number, dim: number, K: number, seed: number, spread = 3) {
  const r = rng(seed);
  const x = Int32Array.from({length: batch * dim}, () => Math.floor(r() * K));
  const logits = randomArray(batch * dim * K, seed + 1, -spread, spread);
  return {x, logits};
}

describeBackends('bfn: bfnDiscreteLoss', ({backend}) => {
  const hasKernel = ['cpu', 'wasm', 'webgpu'].includes(backend);
  const beta1 = 9;  // sqrtBeta1 = 3 (binarised MNIST)

  for (const K of [2, 5, 40]) {
    it(`matches the float64 reference (K = ${K}; t = 0 and 1; confident and saturated logits)`, async () => {
      const batch = 4, dim = 6;
      const {x, logits} = makeInputs(batch, dim, K, K);
      logits[0] = 60;  // a saturated row: softmax with the maximum subtracted stays finite
      logits[K] = -70;
      const t = Float64Array.from([0, 0.25, 0.9, 1], Math.fround);
      const xT = tf.tensor2d(x, [batch, dim], 'int32');
      const lT = tf.tensor3d(Float32Array.from(logits), [batch, dim, K]);
      const tT = tf.tensor1d(Float32Array.from(t));
      const out = bfnDiscreteLoss(xT, lT, tT, {beta1});
      expect(out.shape).to.deep.equal([batch]);
      expect(lastDispatch(BFN_DISCRETE_LOSS)?.path).to.equal(hasKernel ? 'kernel' : 'composite');
      const ref = discreteLossReference(x, logits, t, K, beta1);
      expectClose(await toFloat64(out), ref, {rtol: 1e-4, atol: 1e-5, name: 'loss'});
      const composite = withCompositeOnly(BFN_DISCRETE_LOSS, () => bfnDiscreteLoss(xT, lT, tT, {beta1}));
      expectClose(await toFloat64(composite), ref, {rtol: 1e-4, atol: 1e-5, name: 'composite loss'});
      tf.dispose([xT, lT, tT, out, composite]);
    });
  }

  it('accepts any rank: x [batch, h, w], logits [batch, h, w, K]', async () => {
    const {x, logits} = makeInputs(2, 6, 3, 8);
    const t = Float64Array.from([0.3, 0.6], Math.fround);
    const args = [tf.tensor3d(x, [2, 2, 3], 'int32'), tf.tensor4d(Float32Array.from(logits), [2, 2, 3, 3]),
                  tf.tensor1d(Float32Array.from(t))] as const;
    const out = bfnDiscreteLoss(...args, {beta1});
    expectClose(await toFloat64(out), discreteLossReference(x, logits, t, 3, beta1), {rtol: 1e-4, atol: 1e-5});
    tf.dispose([...args, out]);
  });

  for (const K of [2, 3]) it(`gradient in the logits matches finite differences (K = ${K}); t gets none`, async () => {
    const batch = 3, dim = 4;
    const {x, logits} = makeInputs(batch, dim, K, 17);
    const t = Float64Array.from([0, 0.4, 1], Math.fround);
    const xT = tf.tensor2d(x, [batch, dim], 'int32');
    for (const composite of [false, true]) {
      const run = () => checkGradients({
        f: (l, tt) => bfnDiscreteLoss(xT, l, tt, {beta1}),
        reference: (l, tt) => discreteLossReference(x, l, tt, K, beta1),
        inputs: [{shape: [batch, dim, K], values: logits}, {shape: [batch], values: t}],
        wrt: [0], eps: 1e-5, rtol: 2e-3, atol: 1e-3,
      });
      await (composite ? withCompositeOnly(BFN_DISCRETE_LOSS, run) : run());
    }
    const lT = tf.tensor3d(Float32Array.from(logits), [batch, dim, K]);
    const gt = tf.grad((tt: tf.Tensor) => tf.sum(bfnDiscreteLoss(xT, lT, tt, {beta1})))(tf.tensor1d(Float32Array.from(t)));
    expect(Array.from(await gt.data()).every((v) => v === 0)).to.equal(true);
    tf.dispose([xT, lT, gt]);
  });

  it('does not leak (forward, gradient, composite)', async () => {
    const x = tf.tensor2d([[0, 1], [1, 1]], [2, 2], 'int32'), l = tf.fill([2, 2, 2], 0.3), t = tf.tensor1d([0.2, 0.8]);
    await expectNoLeaks(() => bfnDiscreteLoss(x, l, t, {beta1}), 'forward');
    await expectNoLeaks(() => tf.grad((lt: tf.Tensor) => tf.sum(bfnDiscreteLoss(x, lt, t, {beta1})))(l), 'gradient');
    await expectNoLeaks(() => withCompositeOnly(BFN_DISCRETE_LOSS, () => bfnDiscreteLoss(x, l, t, {beta1})), 'composite');
    tf.dispose([x, l, t]);
  });

  it('rejects bad input with messages naming the argument', () => {
    const x = tf.tensor2d([[0, 1], [1, 1]], [2, 2], 'int32'), l = tf.zeros([2, 2, 3]), t = tf.tensor1d([0.2, 0.8]);
    expectThrowsMatching(() => bfnDiscreteLoss(tf.zeros([2, 2]), l, t, {beta1}), ['x', 'int32']);
    expectThrowsMatching(() => bfnDiscreteLoss(x, tf.zeros([2, 3, 3]), t, {beta1}), ['logits', '[2, 2, K]']);
    expectThrowsMatching(() => bfnDiscreteLoss(x, tf.zeros([2, 2, 1]), t, {beta1}), ['logits', 'K >= 2']);
    expectThrowsMatching(() => bfnDiscreteLoss(x, l, tf.zeros([3]), {beta1}), ['t', '[batch] = [2]']);
    expectThrowsMatching(() => bfnDiscreteLoss(x, l, t, {beta1: -1}), ['beta1', 'positive']);
    expectThrowsMatching(() => bfnDiscreteLoss(x, l, t, {beta1, sqrtBeta1: 3} as never), ["unknown option 'sqrtBeta1'"]);
    if (backend === 'cpu' || backend === 'wasm') {
      const xBad = tf.tensor2d([[0, 3], [1, 1]], [2, 2], 'int32');
      expectThrowsMatching(() => bfnDiscreteLoss(xBad, l, t, {beta1}), ['x must hold values in [0, 2]', 'got 3']);
      const tBad = tf.tensor1d([-0.1, 0.5]);
      expectThrowsMatching(() => bfnDiscreteLoss(x, l, tBad, {beta1}), ['t must hold values in [0, 1]']);
      tf.dispose([xBad, tBad]);
    }
    tf.dispose([x, l, t]);
  });
});
