import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {threeInterpolateGradOp} from './grad';
import {interpolationWeights, THREE_INTERPOLATE, threeInterpolate} from './op';
import {interpolationWeightsReference, threeInterpolateReference} from './reference';

describeBackends('pointnet2: threeInterpolate', ({backend}) => {
  const kernelPath = ['cpu', 'wasm', 'webgpu'].includes(backend) ? 'kernel' : 'composite';
  // The composite's gradient is tf.gather's (UnsortedSegmentSum): missing on wasm, where the kernel runs instead.
  const compositeHasGradient = tf.getKernel('UnsortedSegmentSum', backend) !== undefined;
  const batch = 2, m = 6, c = 4, n = 9;
  const fv = randomArray(batch * m * c, 41);
  const iv = Int32Array.from(randomArray(batch * n * 3, 42, 0, m), (v) => Math.min(m - 1, Math.floor(v)));
  iv[0] = iv[1] = 2;  // a neighbour listed twice in one row
  const wv = randomArray(batch * n * 3, 43, 0.05, 1);

  it('hand-computed interpolation and weights', async () => {
    const features = tf.tensor3d([[[1, 10], [2, 20], [4, 40]]]);
    const idx = tf.tensor3d([[[0, 1, 2], [2, 2, 0]]], undefined, 'int32');
    const dist2 = tf.tensor3d([[[1, 1, 2], [0, 1, 4]]]);
    const w = interpolationWeights(dist2);
    // row 0: 1/1, 1/1, 1/2 over 2.5 -> 0.4, 0.4, 0.2; row 1: distance 0 clamps to 1e-10 -> (1e10, 1, 0.25) / sum
    const s1 = 1e10 + 1.25;
    expectClose(await toFloat64(w), [0.4, 0.4, 0.2, 1e10 / s1, 1 / s1, 0.25 / s1], {atol: 1e-7, rtol: 1e-6, name: 'w'});
    const out = threeInterpolate(features, idx, w);
    expect(lastDispatch(THREE_INTERPOLATE)?.path).to.equal(kernelPath);
    expectClose(await toFloat64(out), [0.4 + 0.8 + 0.8, 4 + 8 + 8, 4, 40], {atol: 1e-5, rtol: 1e-6, name: 'out'});
    tf.dispose([features, idx, dist2, w, out]);
  });

  it('matches the float64 references (kernel and composite); weights from random distances', async () => {
    const features = tf.tensor3d(Float32Array.from(fv), [batch, m, c]);
    const idx = tf.tensor3d(iv, [batch, n, 3], 'int32');
    const weight = tf.tensor3d(Float32Array.from(wv), [batch, n, 3]);
    const ref = threeInterpolateReference(fv, iv, wv, batch, m, c, n);
    const out = threeInterpolate(features, idx, weight);
    expectClose(await toFloat64(out), ref, {atol: 1e-6, rtol: 1e-5, name: 'out'});
    const composite = withCompositeOnly(THREE_INTERPOLATE, () => threeInterpolate(features, idx, weight));
    expectClose(await toFloat64(composite), ref, {atol: 1e-6, rtol: 1e-5, name: 'composite'});
    const d2 = randomArray(batch * n * 3, 44, 0, 2);
    d2[0] = 0;
    const w = interpolationWeights(tf.tensor3d(Float32Array.from(d2), [batch, n, 3]));
    expectClose(await toFloat64(w), interpolationWeightsReference(d2), {atol: 1e-7, rtol: 1e-5, name: 'weights'});
    tf.dispose([features, idx, weight, out, composite, w]);
  });

  it('gradients in features and weights match finite differences; the scatter op matches its composite', async () => {
    const idx = tf.tensor3d(iv, [batch, n, 3], 'int32');
    const run = () => checkGradients({
      f: (f, w) => threeInterpolate(f as tf.Tensor3D, idx, w as tf.Tensor3D),
      reference: (f, w) => threeInterpolateReference(f, iv, w, batch, m, c, n),
      inputs: [{shape: [batch, m, c], values: fv}, {shape: [batch, n, 3], values: wv}],
    });
    await run();
    if (compositeHasGradient) await withCompositeOnly(THREE_INTERPOLATE, run);
    const dy = tf.tensor3d(Float32Array.from(randomArray(batch * n * c, 45)), [batch, n, c]);
    const weight = tf.tensor3d(Float32Array.from(wv), [batch, n, 3]);
    const k = threeInterpolateGradOp.run({dy, idx, weight}, {m}) as tf.Tensor;
    expect(k.shape).to.deep.equal([batch, m, c]);
    if (compositeHasGradient) {
      const comp = threeInterpolateGradOp.runComposite({dy, idx, weight}, {m}) as tf.Tensor;
      expectClose(await toFloat64(k), await toFloat64(comp), {atol: 1e-6, rtol: 1e-5, name: 'scatter vs composite'});
      comp.dispose();
    }
    tf.dispose([idx, dy, weight, k]);
  });

  it('does not leak (forward and gradient)', async () => {
    const features = tf.tensor3d(Float32Array.from(fv), [batch, m, c]);
    const idx = tf.tensor3d(iv, [batch, n, 3], 'int32');
    const weight = tf.tensor3d(Float32Array.from(wv), [batch, n, 3]);
    await expectNoLeaks(() => threeInterpolate(features, idx, weight), 'threeInterpolate');
    await expectNoLeaks(() => tf.grads((f: tf.Tensor, w: tf.Tensor) =>
        tf.sum(threeInterpolate(f as tf.Tensor3D, idx, w as tf.Tensor3D)))([features, weight]), 'grads');
    await expectNoLeaks(() => interpolationWeights(weight), 'interpolationWeights');
    tf.dispose([features, idx, weight]);
  });

  it('rejects bad input naming the argument', () => {
    const f = tf.zeros([2, 5, 4]) as tf.Tensor3D, idx = tf.zeros([2, 3, 3], 'int32') as tf.Tensor3D;
    const w = tf.zeros([2, 3, 3]) as tf.Tensor3D;
    expectThrowsMatching(() => threeInterpolate(tf.zeros([5, 4]) as never, idx, w), ['features', 'rank 3', '[batch, m, channels]']);
    expectThrowsMatching(() => threeInterpolate(f, tf.zeros([2, 3, 2], 'int32') as tf.Tensor3D, w), ['idx', '[batch, n, 3]']);
    expectThrowsMatching(() => threeInterpolate(f, tf.zeros([2, 3, 3]) as tf.Tensor3D, w), ['idx', 'int32']);
    expectThrowsMatching(() => threeInterpolate(f, idx, tf.zeros([2, 4, 3]) as tf.Tensor3D), ['weight', 'shape of idx']);
    expectThrowsMatching(() => interpolationWeights(tf.zeros([2, 3, 2]) as tf.Tensor3D), ['dist2', '[batch, n, 3]']);
    tf.dispose([f, idx, w]);
  });
});
