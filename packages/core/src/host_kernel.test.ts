/**
 * hostKernel on every backend it reads and writes: `cpu`, `wasm` and `tensorflow` (tfjs-node). The kernel sees
 * the inputs' values (float32, int32 and bool), and its outputs (several, float32 and int32) come back as
 * tensors of the active backend, usable by further ops and differentiable through the op's gradient.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {defineOp, hostKernel, lastDispatch} from './index';
import {describeBackends, expectClose, expectNoLeaks} from './testing';

// y = x * scale + offset[i] where mask[i], else 0; count = number of masked-in rows.
const kernel = hostKernel<{scale: number}>(({x, offset, mask}, {scale}) => {
  const [rows, cols] = x.shape;
  const y = new Float32Array(rows * cols);
  let count = 0;
  for (let r = 0; r < rows; r++) {
    if (mask.values[r] === 0) continue;
    count++;
    for (let c = 0; c < cols; c++) y[r * cols + c] = x.values[r * cols + c] * scale + offset.values[r];
  }
  return [{shape: x.shape, values: y}, {shape: [], dtype: 'int32', values: Int32Array.of(count)}];
});

// y: x's values repeated over a large output; z = 2 x as int32, both written in place.
const writer = hostKernel<object>(({x}) => [
  {shape: [1 << 22], write: (out, fresh) => {
    const v = fresh.x.values;
    for (let i = 0; i < out.length; i++) out[i] = v[i % v.length];
  }},
  {shape: x.shape, dtype: 'int32', write: (out, fresh) => fresh.x.values.forEach((v, i) => { out[i] = 2 * v; })},
]);

const maskedAffine = defineOp<{x: tf.Tensor; offset: tf.Tensor; mask: tf.Tensor}, {scale: number}>({
  kernelName: 'TfjsExtTestMaskedAffine',
  kernels: {cpu: kernel, wasm: kernel, tensorflow: kernel},
  gradient: {
    inputsToSave: ['mask'],
    gradFunc: (dys, [mask], attrs) => {
      const dy = (dys as tf.Tensor[])[0];
      const rowMask = tf.expandDims(tf.cast(mask, 'float32'), 1);
      const scale = (attrs as unknown as {scale: number}).scale;
      return {
        x: () => tf.mul(dy, tf.mul(rowMask, scale)),
        offset: () => tf.sum(tf.mul(dy, rowMask), 1),
        mask: () => tf.zerosLike(mask),
      };
    },
  },
  composite: () => {
    throw new Error('the test op has no composite');
  },
});

describeBackends('core: hostKernel reads inputs and creates outputs', ({backend}) => {
  const x = () => tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  const offset = () => tf.tensor1d([10, 20, 30]);
  const mask = () => tf.tensor1d([true, false, true], 'bool');

  it('runs the host kernel with float32, int32 and bool inputs and two outputs', async () => {
    const [y, count] = maskedAffine.run({x: x(), offset: offset(), mask: mask()}, {scale: 2}) as tf.Tensor[];
    expect(lastDispatch('TfjsExtTestMaskedAffine')).to.deep.equal({path: 'kernel', backend});
    expect(y.dtype).to.equal('float32');
    expect(count.dtype).to.equal('int32');
    expectClose(await y.data(), [12, 14, 16, 0, 0, 0, 44, 46, 48], {atol: 0, rtol: 0});
    expect(Array.from(await count.data())).to.deep.equal([2]);
    // The outputs are ordinary tensors of this backend: other ops consume them.
    expectClose(await tf.sum(tf.add(y, tf.cast(count, 'float32'))).data(), [180 + 2 * 9], {atol: 0, rtol: 0});
  });

  it('gives gradients through the registered gradient', async () => {
    const m = mask();
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => (maskedAffine.run({x: a, offset: b, mask: m}, {scale: 3}) as tf.Tensor[])[0]);
    const [dx, dOffset] = g([x(), offset()]);
    expectClose(await dx.data(), [3, 3, 3, 0, 0, 0, 3, 3, 3], {atol: 0, rtol: 0});
    expectClose(await dOffset.data(), [3, 0, 3], {atol: 0, rtol: 0});
  });

  it('writes outputs into their own storage (HostOutputWriter), with inputs read after the allocation', async () => {
    // a large output first (on wasm it may grow the heap, detaching the views the kernel saw), then a small one
    const big = 1 << 22;
    const writeOp = defineOp<{x: tf.Tensor}, object>({
      kernelName: 'TfjsExtTestHostWriter',
      kernels: {cpu: writer, wasm: writer, tensorflow: writer},
      composite: () => {
        throw new Error('the test op has no composite');
      },
    });
    const input = x();
    const [y, z] = writeOp.run({x: input}, {}) as tf.Tensor[];
    expect(y.shape).to.deep.equal([big]);
    const yv = await y.data();
    expect([yv[0], yv[1], yv[big - 1]]).to.deep.equal([1, 2, 7]);  // (2^22 - 1) % 9 = 6 -> x[6] = 7
    expect(z.dtype).to.equal('int32');
    expect(Array.from(await z.data())).to.deep.equal([2, 4, 6, 8, 10, 12, 14, 16, 18]);
    tf.dispose([input, y, z]);
  });

  it('leaks nothing', async () => {
    const inputs = {x: x(), offset: offset(), mask: mask()};
    await expectNoLeaks(() => maskedAffine.run(inputs, {scale: 1}) as tf.Tensor[]);
    tf.dispose(Object.values(inputs));
  });
}, {only: ['cpu', 'wasm', 'tensorflow']});
