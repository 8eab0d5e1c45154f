import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, randomArray, toFloat64} from '@tfjs-ext/core/testing';
import {batchNormRelu, batchNormReluOp, groupMax, groupMaxOp} from './fused';

/** Float64 training-mode batch norm + ReLU over rows of x [rows, c]. */
function bnReluReference(x: Float64Array, gamma: Float64Array, beta: Float64Array, rows: number, c: number,
                         eps: number): Float64Array {
  const out = new Float64Array(rows * c);
  for (let j = 0; j < c; j++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += x[r * c + j] / rows;
    let variance = 0;
    for (let r = 0; r < rows; r++) variance += (x[r * c + j] - mean) ** 2 / rows;
    for (let r = 0; r < rows; r++) {
      out[r * c + j] = Math.max(0, gamma[j] * (x[r * c + j] - mean) / Math.sqrt(variance + eps) + beta[j]);
    }
  }
  return out;
}

function maxReference(x: Float64Array, g: number, k: number, c: number): Float64Array {
  const out = new Float64Array(g * c).fill(-Infinity);
  for (let i = 0; i < g; i++) for (let q = 0; q < k; q++) for (let j = 0; j < c; j++) {
    out[i * c + j] = Math.max(out[i * c + j], x[(i * k + q) * c + j]);
  }
  return out;
}

describeBackends('pointnet2: fused batchNormRelu and groupMax', ({backend}) => {
  const host = ['cpu', 'wasm'].includes(backend);
  const rows = 12, c = 3, eps = 1e-3;
  const xv = randomArray(rows * c, 51, -2, 2), gv = randomArray(c, 52, 0.5, 1.5), bv = randomArray(c, 53, -0.3, 0.3);

  it('batchNormRelu matches the float64 reference and finite differences (kernel and composite)', async () => {
    const x = tf.tensor2d(Float32Array.from(xv), [rows, c]);
    const gamma = tf.tensor1d(Float32Array.from(gv)), beta = tf.tensor1d(Float32Array.from(bv));
    const ref = bnReluReference(xv, gv, bv, rows, c, eps);
    for (const composite of [false, true]) {
      const run = () => batchNormRelu(x, gamma, beta, eps);
      const outs = composite ? withCompositeOnly(batchNormReluOp.kernelName, run) : run();
      if (!composite) expect(lastDispatch(batchNormReluOp.kernelName)?.path).to.equal(host ? 'kernel' : 'composite');
      expectClose(await toFloat64(outs[0]), ref, {atol: 1e-5, rtol: 1e-4, name: 'y'});
      tf.dispose(outs);
      const check = () => checkGradients({
        f: (xt, g, b) => batchNormRelu(xt as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, eps)[0],
        reference: (xs, g, b) => bnReluReference(xs, g, b, rows, c, eps),
        inputs: [{shape: [rows, c], values: xv}, {shape: [c], values: gv}, {shape: [c], values: bv}],
        eps: 1e-5,
      });
      await (composite ? withCompositeOnly(batchNormReluOp.kernelName, check) : check());
    }
    tf.dispose([x, gamma, beta]);
  });

  it('groupMax matches the reference; its gradient goes to the maximum', async () => {
    const g = 2 * 3, k = 4, ch = 5;
    const v = randomArray(g * k * ch, 54);
    const x = tf.tensor4d(Float32Array.from(v), [2, 3, k, ch]);
    const out = groupMax(x);
    expect(lastDispatch(groupMaxOp.kernelName)?.path).to.equal(host ? 'kernel' : 'composite');
    expect(out.shape).to.deep.equal([2, 3, ch]);
    expectClose(await toFloat64(out), maxReference(v, g, k, ch), {atol: 0, rtol: 0, name: 'max'});
    await checkGradients({f: (xt) => groupMax(xt as tf.Tensor4D), reference: (xs) => maxReference(xs, g, k, ch),
                          inputs: [{shape: [2, 3, k, ch], values: v}], eps: 1e-5});
    tf.dispose([x, out]);
  });

  it('does not leak', async () => {
    const x = tf.tensor2d(Float32Array.from(xv), [rows, c]);
    const gamma = tf.tensor1d(Float32Array.from(gv)), beta = tf.tensor1d(Float32Array.from(bv));
    await expectNoLeaks(() => batchNormRelu(x, gamma, beta, eps), 'batchNormRelu');
    await expectNoLeaks(() => tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(batchNormRelu(a as tf.Tensor2D, b as tf.Tensor1D, beta, eps)[0]))([x, gamma]), 'grads');
    const x4 = tf.reshape(x, [2, 2, 3, 3]) as tf.Tensor4D;
    await expectNoLeaks(() => tf.grad((a: tf.Tensor) => tf.sum(groupMax(a as tf.Tensor4D)))(x4), 'groupMax grad');
    tf.dispose([x, gamma, beta, x4]);
  });
});
