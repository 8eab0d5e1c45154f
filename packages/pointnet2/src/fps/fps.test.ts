import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {describeBackends, expectNoLeaks, expectThrowsMatching, randomArray} from '@tfjs-ext/core/testing';
import {FARTHEST_POINT_SAMPLE, farthestPointSample} from './op';
import {farthestPointSampleReference} from './reference';
import {pointImpls} from '../simd/module';

describeBackends('pointnet2: farthestPointSample', ({backend}) => {
  const kernelPath = ['cpu', 'wasm', 'webgpu'].includes(backend) ? 'kernel' : 'composite';
  const both = async (xyz: tf.Tensor3D, npoint: number) => {
    const out = farthestPointSample(xyz, npoint);
    expect(lastDispatch(FARTHEST_POINT_SAMPLE)?.path).to.equal(kernelPath);
    const composite = withCompositeOnly(FARTHEST_POINT_SAMPLE, () => farthestPointSample(xyz, npoint));
    const result = {kernel: Array.from(await out.data()), composite: Array.from(await composite.data()),
                    dtype: out.dtype, shape: out.shape};
    tf.dispose([out, composite]);
    return result;
  };

  it('hand-computed cloud: starts at 0, farthest next, the lower index on ties', async () => {
    // x = 0, 1, 3, 2: after 0 the farthest is 3 (index 2); then indices 1 and 3 both sit at distance 1 -> 1.
    const xyz = tf.tensor3d([[[0, 0, 0], [1, 0, 0], [3, 0, 0], [2, 0, 0]]]);
    const r = await both(xyz, 3);
    expect(r.dtype).to.equal('int32');
    expect(r.shape).to.deep.equal([1, 3]);
    expect(r.kernel).to.deep.equal([0, 2, 1]);
    expect(r.composite).to.deep.equal([0, 2, 1]);
    xyz.dispose();
  });

  it('coincident points: every minimum is 0, so the lowest index (0) is chosen again', async () => {
    const xyz = tf.tensor3d([[[1, 2, 3], [1, 2, 3], [1, 2, 3]]]);
    const r = await both(xyz, 3);
    expect(r.kernel).to.deep.equal([0, 0, 0]);
    expect(r.composite).to.deep.equal([0, 0, 0]);
    xyz.dispose();
  });

  it('matches the float64 reference on random clouds (batch 2, 300 points, N not a multiple of 256)', async () => {
    const batch = 2, n = 300, npoint = 40;
    const v = randomArray(batch * n * 3, 7);
    const xyz = tf.tensor3d(Float32Array.from(v), [batch, n, 3]);
    const r = await both(xyz, npoint);
    const ref = farthestPointSampleReference(v, batch, n, npoint);
    expect(r.kernel).to.deep.equal(ref);
    expect(r.composite).to.deep.equal(ref);
    xyz.dispose();
  });

  if (['cpu', 'wasm'].includes(backend)) {
    it(`every host implementation (${pointImpls.names().join(', ')}) matches the reference, ties and N % 4 != 0 included`, async () => {
      expect(pointImpls.names()).to.include('simd');  // Node validates SIMD128: the module must be in use here
      const batch = 3, n = 301, npoint = 64;
      const v = randomArray(batch * n * 3, 11);
      const ref = farthestPointSampleReference(v, batch, n, npoint);
      const xyz = tf.tensor3d(Float32Array.from(v), [batch, n, 3]);
      const ties = tf.tensor3d([[[0, 0, 0], [1, 0, 0], [3, 0, 0], [2, 0, 0], [3, 0, 0]]]);
      for (const impl of pointImpls.names()) {
        const [out, tied] = pointImpls.withForced(impl, () => [farthestPointSample(xyz, npoint), farthestPointSample(ties, 4)]);
        expect(Array.from(await out.data()), impl).to.deep.equal(ref);
        // 0; then 2 (x = 3; index 4 ties at the same distance, the lower index wins); then 1 and 3 tie at 1 -> 1
        expect(Array.from(await tied.data()), `${impl} ties`).to.deep.equal([0, 2, 1, 3]);
        tf.dispose([out, tied]);
      }
      tf.dispose([xyz, ties]);
    });
  }

  it('does not leak', async () => {
    const xyz = tf.tensor3d(Float32Array.from(randomArray(30, 3)), [1, 10, 3]);
    await expectNoLeaks(() => farthestPointSample(xyz, 4), 'fps');
    await expectNoLeaks(() => withCompositeOnly(FARTHEST_POINT_SAMPLE, () => farthestPointSample(xyz, 4)), 'composite');
    xyz.dispose();
  });

  it('rejects bad input naming the argument', () => {
    const xyz = tf.zeros([2, 5, 3]) as tf.Tensor3D;
    expectThrowsMatching(() => farthestPointSample(tf.zeros([5, 3]) as never, 2), ['xyz', 'rank 3', '[batch, numPoints, 3]']);
    expectThrowsMatching(() => farthestPointSample(tf.zeros([2, 5, 2]) as tf.Tensor3D, 2), ['xyz', '[batch, numPoints, 3]', '[2, 5, 2]']);
    expectThrowsMatching(() => farthestPointSample(tf.zeros([2, 5, 3], 'int32') as tf.Tensor3D, 2), ['xyz', 'float32']);
    expectThrowsMatching(() => farthestPointSample(xyz, 6), ['npoint', 'at most', 'N = xyz.shape[1] = 5', '6']);
    expectThrowsMatching(() => farthestPointSample(xyz, 0), ['npoint', 'positive integer']);
    expectThrowsMatching(() => farthestPointSample(xyz, 1.5), ['npoint', 'positive integer']);
    tf.dispose(xyz);
  });
});
