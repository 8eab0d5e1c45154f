import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, gradCheck, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {groupPointsGradOp} from './grad';
import {GROUP_POINTS, groupPoints} from './op';
import {groupPointsGradReference, groupPointsReference} from './reference';

/** Random indices in [0, n), with repeats (a point in several groups and twice in one group). */
function randomIndices(count: number, n: number, seed: number): Int32Array {
  return Int32Array.from(randomArray(count, seed, 0, n), (v) => Math.min(n - 1, Math.floor(v)));
}

describeBackends('pointnet2: groupPoints', ({backend}) => {
  const kernelPath = ['cpu', 'wasm', 'webgpu'].includes(backend) ? 'kernel' : 'composite';
  // The composite's gradient is tf.gather's, which needs UnsortedSegmentSum: missing on wasm (TFJS-TRAPS.md),
  // where the kernel always runs instead.
  const compositeHasGradient = tf.getKernel('UnsortedSegmentSum', backend) !== undefined;
  const batch = 2, n = 7, c = 5, s = 4, k = 3;
  const fv = randomArray(batch * n * c, 21);
  const iv = randomIndices(batch * s * k, n, 22);
  iv[0] = iv[1] = 6;  // one point twice in one group

  it('hand-computed gather', async () => {
    const features = tf.tensor3d([[[1, 10], [2, 20], [3, 30]]]);
    const idx = tf.tensor3d([[[2, 0], [1, 1]]], undefined, 'int32');
    const out = groupPoints(features, idx);
    expect(lastDispatch(GROUP_POINTS)?.path).to.equal(kernelPath);
    expect(out.shape).to.deep.equal([1, 2, 2, 2]);
    expect(Array.from(await out.data())).to.deep.equal([3, 30, 1, 10, 2, 20, 2, 20]);
    tf.dispose([features, idx, out]);
  });

  it('matches the float64 reference (kernel and composite)', async () => {
    const features = tf.tensor3d(Float32Array.from(fv), [batch, n, c]);
    const idx = tf.tensor3d(iv, [batch, s, k], 'int32');
    const ref = groupPointsReference(fv, iv, batch, n, c, s, k);
    const out = groupPoints(features, idx);
    expectClose(await toFloat64(out), ref, {atol: 0, rtol: 0, name: 'grouped'});
    const composite = withCompositeOnly(GROUP_POINTS, () => groupPoints(features, idx));
    expectClose(await toFloat64(composite), ref, {atol: 0, rtol: 0, name: 'composite'});
    tf.dispose([features, idx, out, composite]);
  });

  it('the scatter-add gradient op matches the float64 reference (kernel and composite)', async () => {
    const dyv = randomArray(batch * s * k * c, 23);
    const dy = tf.tensor4d(Float32Array.from(dyv), [batch, s, k, c]);
    const idx = tf.tensor3d(iv, [batch, s, k], 'int32');
    const ref = groupPointsGradReference(dyv, iv, batch, n, c, s, k);
    const dx = groupPointsGradOp.run({dy, idx}, {n}) as tf.Tensor;
    expect(dx.shape).to.deep.equal([batch, n, c]);
    expectClose(await toFloat64(dx), ref, {atol: 1e-6, rtol: 1e-6, name: 'dFeatures'});
    if (compositeHasGradient) {
      const dxc = groupPointsGradOp.runComposite({dy, idx}, {n}) as tf.Tensor;
      expectClose(await toFloat64(dxc), ref, {atol: 1e-6, rtol: 1e-6, name: 'composite'});
      dxc.dispose();
    }
    tf.dispose([dy, idx, dx]);
  });

  it('gradient in features matches finite differences (kernel, and composite where it has one)', async () => {
    const idx = tf.tensor3d(iv, [batch, s, k], 'int32');
    const run = () => checkGradients({
      f: (x) => groupPoints(x as tf.Tensor3D, idx),
      reference: (x) => groupPointsReference(x, iv, batch, n, c, s, k),
      inputs: [{shape: [batch, n, c], values: fv}],
    });
    await run();
    if (compositeHasGradient) await withCompositeOnly(GROUP_POINTS, run);
    // the checker catches a wrong gradient: an index shifted by one in the oracle
    const shifted = Int32Array.from(iv, (j) => (j + 1) % n);
    const wrong = await gradCheck({
      f: (x) => groupPoints(x as tf.Tensor3D, idx),
      reference: (x) => groupPointsReference(x, shifted, batch, n, c, s, k),
      inputs: [{shape: [batch, n, c], values: fv}],
    });
    expect(wrong.ok).to.equal(false);
    idx.dispose();
  });

  it('does not leak (forward and gradient)', async () => {
    const features = tf.tensor3d(Float32Array.from(fv), [batch, n, c]);
    const idx = tf.tensor3d(iv, [batch, s, k], 'int32');
    await expectNoLeaks(() => groupPoints(features, idx), 'groupPoints');
    await expectNoLeaks(() => tf.grad((x: tf.Tensor) => tf.sum(groupPoints(x as tf.Tensor3D, idx)))(features), 'grad');
    await expectNoLeaks(() => withCompositeOnly(GROUP_POINTS, () => groupPoints(features, idx)), 'composite');
    tf.dispose([features, idx]);
  });

  it('rejects bad input naming the argument', () => {
    const f = tf.zeros([2, 5, 4]) as tf.Tensor3D, idx = tf.zeros([2, 3, 2], 'int32') as tf.Tensor3D;
    expectThrowsMatching(() => groupPoints(tf.zeros([5, 4]) as never, idx), ['features', 'rank 3', '[batch, numPoints, channels]']);
    expectThrowsMatching(() => groupPoints(f, tf.zeros([2, 3], 'int32') as never), ['idx', 'rank 3', '[batch, numGroups, groupSize]']);
    expectThrowsMatching(() => groupPoints(f, tf.zeros([2, 3, 2]) as tf.Tensor3D), ['idx', 'int32']);
    expectThrowsMatching(() => groupPoints(f, tf.zeros([3, 3, 2], 'int32') as tf.Tensor3D), ['idx', 'batch size']);
    tf.dispose([f, idx]);
  });
});
