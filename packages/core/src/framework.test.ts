/**
 * Tests that prove the framework itself: the gradient checker passes on correct gradients and fails on a wrong
 * one, dispatch takes the kernel where one is registered and the composite elsewhere, the leak checker catches
 * leaks.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {defineOp, hostKernels, lastDispatch, withCompositeOnly} from './index';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, gradCheck, randomArray,
        toFloat64} from './testing';

// float64 oracles
function matMulF64(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

function softmaxF64(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += (out[r * cols + c] = Math.exp(x[r * cols + c] - max));
    for (let c = 0; c < cols; c++) out[r * cols + c] /= sum;
  }
  return out;
}

// Toy op: y = x^2 + 1 with a host kernel (cpu, wasm) and a composite everywhere else.
const toySquarePlusOne = defineOp<{x: tf.Tensor}, Record<string, never>>({
  kernelName: 'TfjsExtTestSquarePlusOne',
  kernels: {cpu: hostKernels<object>(({x}) => [{shape: x.shape, values: (x.values as Float32Array).map((v) => v * v + 1)}]).cpu},
  gradient: {inputsToSave: ['x'], gradFunc: (dy, [x]) => ({x: () => tf.mul(dy as tf.Tensor, tf.mul(x, 2))})},
  composite: ({x}) => tf.add(tf.square(x), 1),
});

// Same function, registered with a deliberately wrong gradient (3x instead of 2x) on the host backends.
const wrongGradSquare = defineOp<{x: tf.Tensor}, Record<string, never>>({
  kernelName: 'TfjsExtTestWrongGradSquare',
  kernels: hostKernels<object>(({x}) => [{shape: x.shape, values: (x.values as Float32Array).map((v) => v * v)}]),
  gradient: {inputsToSave: ['x'], gradFunc: (dy, [x]) => ({x: () => tf.mul(dy as tf.Tensor, tf.mul(x, 3))})},
  composite: ({x}) => wrongGradCustom(x),
});
const wrongGradCustom = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {value: tf.square(x), gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => tf.mul(dy, tf.mul(saved, 3))};
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

// A cpu kernel that leaks an intermediate data id.
const leaky = defineOp<{x: tf.Tensor}, Record<string, never>>({
  kernelName: 'TfjsExtTestLeaky',
  kernels: {
    cpu: ({inputs, backend}) => {
      const cpu = backend as unknown as {makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo;
                                         data: {get(id: object): {values: Float32Array}}};
      cpu.makeTensorInfo([4], 'float32', new Float32Array(4));  // never disposed
      const x = inputs.x as tf.TensorInfo;
      return cpu.makeTensorInfo(x.shape, 'float32', cpu.data.get(x.dataId).values.slice());
    },
  },
  composite: ({x}) => tf.clone(x),
});

describeBackends('core: gradient checker', () => {
  it('passes for tf.matMul', async () => {
    await checkGradients({
      f: (a, b) => tf.matMul(a, b),
      reference: (a, b) => matMulF64(a, b, 3, 4, 5),
      inputs: [{shape: [3, 4], values: randomArray(12, 1)}, {shape: [4, 5], values: randomArray(20, 2)}],
    });
  });

  it('passes for tf.softmax', async () => {
    await checkGradients({
      f: (x) => tf.softmax(x),
      reference: (x) => softmaxF64(x, 3, 6),
      inputs: [{shape: [3, 6], values: randomArray(18, 3, -3, 3)}],
    });
  });

  it('passes for a composed function softmax(a b) * b0', async () => {
    await checkGradients({
      f: (a, b) => tf.mul(tf.softmax(tf.matMul(a, b)), tf.slice(b, [0, 0], [1, 4])),
      reference: (a, b) => softmaxF64(matMulF64(a, b, 2, 3, 4), 2, 4).map((v, i) => v * b[i % 4]),
      inputs: [{shape: [2, 3], values: randomArray(6, 4)}, {shape: [3, 4], values: randomArray(12, 5)}],
    });
  });

  it('fails on an op with a deliberately wrong gradient', async () => {
    const result = await gradCheck({
      f: (x) => wrongGradSquare.run({x}, {}) as tf.Tensor,
      reference: (x) => x.map((v) => v * v),
      inputs: [{shape: [2, 3], values: randomArray(6, 6, 0.5, 1.5)}],
    });
    expect(result.ok).to.equal(false);
    expect(result.message).to.match(/differ beyond/);
    let threw = false;
    try {
      await checkGradients({
        f: (x) => wrongGradSquare.run({x}, {}) as tf.Tensor,
        reference: (x) => x.map((v) => v * v),
        inputs: [{shape: [2, 3], values: randomArray(6, 6, 0.5, 1.5)}],
      });
    } catch (e) {
      threw = /gradient check failed/.test(String(e));
    }
    expect(threw).to.equal(true);
  });
});

describeBackends('core: dispatch', ({backend}) => {
  it('runs the cpu kernel on cpu and the composite elsewhere, with equal results', async () => {
    const x = tf.tensor([-1.5, 0, 2, 3.25]);
    const y = toySquarePlusOne.run({x}, {}) as tf.Tensor;
    expect(lastDispatch('TfjsExtTestSquarePlusOne')).to.deep.equal(
        {path: backend === 'cpu' ? 'kernel' : 'composite', backend});
    expectClose(await toFloat64(y), [3.25, 1, 5, 11.5625], {name: 'toy op'});
    const z = withCompositeOnly('TfjsExtTestSquarePlusOne', () => toySquarePlusOne.run({x}, {}) as tf.Tensor);
    expect(lastDispatch('TfjsExtTestSquarePlusOne')?.path).to.equal('composite');
    expectClose(await toFloat64(z), await toFloat64(y), {rtol: 0, atol: 0, name: 'kernel vs composite'});
    expect(toySquarePlusOne.hasKernel()).to.equal(backend === 'cpu');
    tf.dispose([x, y, z]);
  });

  it('uses the registered gradient on the kernel path and autograd on the composite', async () => {
    await checkGradients({
      f: (x) => toySquarePlusOne.run({x}, {}) as tf.Tensor,
      reference: (x) => x.map((v) => v * v + 1),
      inputs: [{shape: [5], values: randomArray(5, 7)}],
    });
  });
});

describeBackends('core: leak checker', () => {
  it('passes a clean op', async () => {
    const x = tf.ones([4]);
    await expectNoLeaks(() => toySquarePlusOne.run({x}, {}));
    x.dispose();
  });

  it('catches a function that leaks a tensor', async () => {
    const x = tf.ones([4]);
    let message = '';
    try {
      await expectNoLeaks(() => {
        tf.add(x, 1);  // leaked intermediate
        return tf.mul(x, 2);
      }, 'leaky function');
    } catch (e) {
      message = String(e);
    }
    expect(message).to.match(/leaky function leaked 1 tensor/);
    x.dispose();
  });
});

describeBackends('core: leak checker (kernel internals)', () => {
  it('catches a kernel that leaks an intermediate data id', async () => {
    const x = tf.ones([4]);
    let message = '';
    try {
      await expectNoLeaks(() => leaky.run({x}, {}), 'leaky kernel');
    } catch (e) {
      message = String(e);
    }
    expect(message).to.match(/memory leak|leaked 1 backend data id/);
    x.dispose();
  });
}, {only: ['cpu']});
