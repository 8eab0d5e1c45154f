import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends, expectThrowsMatching} from '@tfjs-ext/core/testing';
import {cubicInterpolate} from './line_search';
import {LBFGS} from './lbfgs';

describeBackends('kan: LBFGS', () => {
  it('minimises an ill-conditioned quadratic in a few iterations', async () => {
    // f(x) = 0.5 sum_i a_i (x_i - c_i)^2, condition number 100. With inexact (Wolfe) line searches there is no
    // n-step termination; measured: 19 iterations to f < 1e-11 (PyTorch's LBFGS behaves alike).
    const a = tf.tensor1d([1, 3, 10, 30, 100]);
    const c = tf.tensor1d([1, -2, 0.5, 3, -1]);
    const x = tf.variable(tf.zeros([5]));
    const opt = new LBFGS([x], {maxIter: 40, maxEval: 100, toleranceGrad: 1e-6});
    await opt.step(() => tf.mul(0.5, tf.sum(tf.mul(a, tf.square(tf.sub(x, c))))) as tf.Scalar);
    const xs = await x.data();
    expect(Math.max(...Array.from(xs, (v, i) => Math.abs(v - [1, -2, 0.5, 3, -1][i])))).to.be.lessThan(1e-4);
    expect(opt.iterations).to.be.at.most(22);
    tf.dispose([a, c, x]);
  });

  it('minimises the Rosenbrock function from (-1.2, 1) in under 60 iterations', async () => {
    const x = tf.variable(tf.tensor1d([-1.2, 1]));
    const opt = new LBFGS([x], {maxIter: 100, toleranceGrad: 1e-7, toleranceChange: 1e-12});
    const rosenbrock = () => {
      const [x0, x1] = tf.split(x, 2) as [tf.Tensor, tf.Tensor];
      return tf.sum(tf.add(tf.square(tf.sub(1, x0)), tf.mul(100, tf.square(tf.sub(x1, tf.square(x0)))))) as tf.Scalar;
    };
    await opt.step(rosenbrock);
    const [x0, x1] = await x.data();
    expect(Math.abs(x0 - 1)).to.be.lessThan(1e-3);
    expect(Math.abs(x1 - 1)).to.be.lessThan(2e-3);
    // Nocedal & Wright report ~35 iterations for BFGS + Wolfe from this start; allow some float32 slack
    expect(opt.iterations).to.be.lessThan(60);
    x.dispose();
  });

  it('without a line search still descends on the quadratic', async () => {
    const x = tf.variable(tf.tensor1d([3, -3]));
    const opt = new LBFGS([x], {lineSearch: 'none', lr: 0.5, maxIter: 50});
    const f = () => tf.sum(tf.square(x)) as tf.Scalar;
    const before = await opt.step(f);
    const after = (await f().data())[0];
    expect(before).to.be.closeTo(18, 1e-5);
    expect(after).to.be.lessThan(1e-6);
    x.dispose();
  });

  it('restores the parameters and stops when no step decreases the loss (ascent-pointing gradient)', async () => {
    const x = tf.variable(tf.tensor1d([1, -2]));
    // loss |x|^2 with a gradient of the wrong sign: every line search along -gradient goes uphill
    // (no save(): on wasm, customGrad's saved clones trip the IS_TEST kernel-leak check; x outlives the step)
    const flipped = tf.customGrad(((v: tf.Tensor) => {
      return {value: tf.sum(tf.square(v)), gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.mul(x, -2))};
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as (v: tf.Tensor) => tf.Scalar;
    const opt = new LBFGS([x], {maxIter: 5});
    expect(await opt.step(() => flipped(x))).to.be.closeTo(5, 1e-6);
    expect(Array.from(await x.data())).to.deep.equal([1, -2]);
    expect(opt.iterations).to.equal(1);
    x.dispose();
  });

  it('does not leak tensors across a step', async () => {
    const x = tf.variable(tf.tensor1d([0.5, 2]));
    const opt = new LBFGS([x]);
    const before = tf.memory().numTensors;
    await opt.step(() => tf.sum(tf.square(tf.sub(x, 1))) as tf.Scalar);
    expect(tf.memory().numTensors).to.equal(before);
    x.dispose();
  });

  it('rejects bad arguments', () => {
    expectThrowsMatching(() => new LBFGS([]), ['vars', 'tf.Variable']);
    const v = tf.variable(tf.zeros([2]));
    expectThrowsMatching(() => new LBFGS([v], {historySize: 0}), ['historySize']);
    v.dispose();
  });

  it('cubic interpolation finds the minimiser of a cubic', () => {
    // f(t) = (t - 1)^2 sampled at 0 and 3 with derivatives: minimiser 1
    expect(cubicInterpolate(0, 1, -2, 3, 4, 4)).to.be.closeTo(1, 1e-12);
  });
});
