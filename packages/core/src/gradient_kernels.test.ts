/** `defineOp`'s `gradientKernels`: backward kernels registered per backend with the op, run by its gradient. */
import * as tf from '@tensorflow/tfjs';
import {describeBackends, expectClose, expectThrowsMatching} from '@tfjs-ext/core/testing';
import {expect} from 'chai';
import {hostKernels} from './host_kernel';
import {defineOp, hasKernel} from './kernel';

const FORWARD = 'TfjsExtTestCube', BACKWARD = 'TfjsExtTestCubeGrad';
let backwardKernelRuns = 0;

/** y = x^3; dx = 3 x^2 dy, by a backward kernel where registered (cpu, wasm), else by ops. */
const cube = defineOp<{x: tf.Tensor}, {}>({
  kernelName: FORWARD,
  kernels: hostKernels(({x}) => [{shape: x.shape, values: (x.values as Float32Array).map((v) => v * v * v)}]),
  gradient: {
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({x: () => {
      if (hasKernel(BACKWARD)) return tf.engine().runKernel(BACKWARD, {x, dy: dy as tf.Tensor}, {}) as tf.Tensor;
      return tf.mul(dy as tf.Tensor, tf.mul(3, tf.square(x)));
    }}),
  },
  gradientKernels: {
    kernelName: BACKWARD,
    kernels: hostKernels(({x, dy}) => {
      backwardKernelRuns++;
      const xv = x.values as Float32Array, g = dy.values as Float32Array;
      return [{shape: x.shape, values: xv.map((v, i) => 3 * v * v * g[i])}];
    }),
  },
  composite: ({x}) => tf.pow(x, 3),
});

describeBackends('defineOp gradientKernels', () => {
  it('registers the backward kernels with the op, and the gradient runs them', async () => {
    expect(tf.getKernel(BACKWARD, 'cpu')).to.not.equal(undefined);
    expect(tf.getKernel(BACKWARD, 'wasm')).to.not.equal(undefined);
    expect(tf.getKernel(BACKWARD, 'webgl')).to.equal(undefined);
    const x = tf.tensor1d([1, -2, 0.5]);
    const before = backwardKernelRuns;
    const dx = tf.grad((a: tf.Tensor) => cube.run({x: a}, {}) as tf.Tensor)(x);
    expectClose(await dx.data(), [3, 12, 0.75], {name: 'dx'});
    expect(backwardKernelRuns).to.equal(before + 1);
    tf.dispose([x, dx]);
  });

  it('refuses backward kernels without a gradient to run them', () => {
    expectThrowsMatching(() => defineOp({kernelName: 'TfjsExtTestNoGrad', composite: ({x}: {x: tf.Tensor}) => x,
                                         gradientKernels: {kernelName: 'TfjsExtTestNoGradGrad', kernels: {}}}),
                         ['TfjsExtTestNoGrad', 'gradientKernels given without a gradient']);
  });
}, {only: ['cpu', 'wasm']});
