/** `denseMatMul`: float64 reference, finite-difference gradients, the kernel on wasm, no leaks, clear errors. */
import * as tf from '@tensorflow/tfjs';
import {lastDispatch} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching,
        randomArray} from '@tfjs-ext/core/testing';
import {expect} from 'chai';
import {DENSE_MATMUL, denseMatMul} from './op';
import {denseMatMulReference} from './reference';

describeBackends('denseMatMul', ({backend}) => {
  const [m, k, n] = [5, 3, 4];
  const av = randomArray(m * k, 71), bv = randomArray(k * n, 72);

  it('equals the float64 reference (kernel on wasm, composite elsewhere)', async () => {
    const a = tf.tensor2d(Float32Array.from(av), [m, k]), b = tf.tensor2d(Float32Array.from(bv), [k, n]);
    const y = denseMatMul(a, b);
    expect(lastDispatch(DENSE_MATMUL)?.path).to.equal(backend === 'wasm' ? 'kernel' : 'composite');
    expect(y.shape).to.deep.equal([m, n]);
    expectClose(await y.data(), denseMatMulReference(av, bv, m, k, n), {name: 'output', rtol: 1e-5, atol: 1e-6});
    tf.dispose([a, b, y]);
  });

  it('gradients match finite differences of the reference', async () => {
    await checkGradients({
      f: (a, b) => denseMatMul(a as tf.Tensor2D, b as tf.Tensor2D),
      reference: (a, b) => denseMatMulReference(a, b, m, k, n),
      inputs: [{shape: [m, k], values: av}, {shape: [k, n], values: bv}],
    });
  });

  it('leaks nothing (forward and gradient)', async () => {
    const a = tf.tensor2d(Float32Array.from(av), [m, k]), b = tf.tensor2d(Float32Array.from(bv), [k, n]);
    await expectNoLeaks(() => denseMatMul(a, b), 'denseMatMul');
    await expectNoLeaks(() => tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(denseMatMul(x as tf.Tensor2D, y as tf.Tensor2D)))([a, b]), 'denseMatMul grad');
    tf.dispose([a, b]);
  });

  it('rejects bad input naming the argument and the expected shape', () => {
    const a = tf.zeros([2, 3]) as tf.Tensor2D, rank3 = tf.zeros([2, 3, 1]), b24 = tf.zeros([2, 4]) as tf.Tensor2D;
    const int = tf.zeros([3, 4], 'int32') as tf.Tensor2D;
    expectThrowsMatching(() => denseMatMul(rank3 as unknown as tf.Tensor2D, a),
                         ['denseMatMul', 'a must have rank 2 [m, k]', '[2, 3, 1]']);
    expectThrowsMatching(() => denseMatMul(a, b24), ['denseMatMul', 'b must have shape [3, n]', 'got a [2, 3] and b [2, 4]']);
    expectThrowsMatching(() => denseMatMul(a, int), ['denseMatMul', 'b must have dtype float32, got int32']);
    tf.dispose([a, rank3, b24, int]);
  });
});
