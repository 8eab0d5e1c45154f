import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {describeBackends, expectNoLeaks, expectThrowsMatching, randomArray} from '@tfjs-ext/core/testing';
import {BALL_QUERY, ballQuery} from './op';
import {ballQueryReference} from './reference';

describeBackends('pointnet2: ballQuery', ({backend}) => {
  const kernelPath = ['cpu', 'wasm', 'webgpu'].includes(backend) ? 'kernel' : 'composite';
  const both = async (xyz: tf.Tensor3D, centres: tf.Tensor3D, radius: number, nsample: number) => {
    const out = ballQuery(xyz, centres, radius, nsample);
    expect(lastDispatch(BALL_QUERY)?.path).to.equal(kernelPath);
    expect(out.dtype).to.equal('int32');
    expect(out.shape).to.deep.equal([xyz.shape[0], centres.shape[1], nsample]);
    const composite = withCompositeOnly(BALL_QUERY, () => ballQuery(xyz, centres, radius, nsample));
    const result = {kernel: Array.from(await out.data()), composite: Array.from(await composite.data())};
    tf.dispose([out, composite]);
    return result;
  };
  // point 1 sits exactly on the radius (squared distance 1 = radius^2): outside, since the test is `<`
  const cloud = [[0, 0, 0], [1, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [5, 5, 5]];

  it('hand-computed: index order, radius boundary excluded, padding with the first hit, empty ball -> nearest', async () => {
    const xyz = tf.tensor3d([cloud]);
    const centres = tf.tensor3d([[[0, 0, 0], [1, 0, 0], [10, 10, 10]]]);
    const r = await both(xyz, centres, 1, 4);
    const expected = [0, 2, 3, 0, /* centre (1,0,0): 1 and 2 are in, 0 and 3 on/over the boundary */ 1, 2, 1, 1,
                      /* empty ball: the nearest point (5,5,5) everywhere */ 4, 4, 4, 4];
    expect(r.kernel).to.deep.equal(expected);
    expect(r.composite).to.deep.equal(expected);
    const truncated = await both(xyz, centres, 1, 2);  // the first nsample hits only
    expect(truncated.kernel).to.deep.equal([0, 2, 1, 2, 4, 4]);
    expect(truncated.composite).to.deep.equal([0, 2, 1, 2, 4, 4]);
    const wide = await both(xyz, centres, 1.0001, 4);  // just beyond the boundary, point 1 is in
    expect(wide.kernel.slice(0, 4)).to.deep.equal([0, 1, 2, 3]);
    expect(wide.composite.slice(0, 4)).to.deep.equal([0, 1, 2, 3]);
    tf.dispose([xyz, centres]);
  });

  it('nsample larger than N pads with the first hit', async () => {
    const xyz = tf.tensor3d([cloud]);
    const centres = tf.tensor3d([[[0, 0, 0]]]);
    const r = await both(xyz, centres, 0.8, 7);
    expect(r.kernel).to.deep.equal([0, 2, 3, 0, 0, 0, 0]);
    expect(r.composite).to.deep.equal([0, 2, 3, 0, 0, 0, 0]);
    tf.dispose([xyz, centres]);
  });

  it('matches the float64 reference on random clouds', async () => {
    const batch = 2, n = 120, s = 17, nsample = 8, radius = 0.45;
    const v = randomArray(batch * n * 3, 11), c = randomArray(batch * s * 3, 12, -1.2, 1.2);
    const xyz = tf.tensor3d(Float32Array.from(v), [batch, n, 3]);
    const centres = tf.tensor3d(Float32Array.from(c), [batch, s, 3]);
    const r = await both(xyz, centres, radius, nsample);
    const ref = ballQueryReference(v, c, batch, n, s, radius, nsample);
    expect(r.kernel).to.deep.equal(ref);
    expect(r.composite).to.deep.equal(ref);
    tf.dispose([xyz, centres]);
  });

  it('does not leak', async () => {
    const xyz = tf.tensor3d([cloud]);
    const centres = tf.tensor3d([[[0, 0, 0], [9, 9, 9]]]);
    await expectNoLeaks(() => ballQuery(xyz, centres, 1, 3), 'ballQuery');
    await expectNoLeaks(() => withCompositeOnly(BALL_QUERY, () => ballQuery(xyz, centres, 1, 9)), 'composite');
    tf.dispose([xyz, centres]);
  });

  it('rejects bad input naming the argument', () => {
    const xyz = tf.zeros([2, 5, 3]) as tf.Tensor3D, c = tf.zeros([2, 4, 3]) as tf.Tensor3D;
    expectThrowsMatching(() => ballQuery(tf.zeros([5, 3]) as never, c, 1, 2), ['xyz', 'rank 3']);
    expectThrowsMatching(() => ballQuery(xyz, tf.zeros([2, 4, 2]) as tf.Tensor3D, 1, 2), ['newXyz', '[batch, numCentres, 3]']);
    expectThrowsMatching(() => ballQuery(xyz, tf.zeros([3, 4, 3]) as tf.Tensor3D, 1, 2), ['newXyz', 'batch size', '(2)']);
    expectThrowsMatching(() => ballQuery(xyz, c, 0, 2), ['radius', 'positive', 'got 0']);
    expectThrowsMatching(() => ballQuery(xyz, c, -0.5, 2), ['radius', 'positive']);
    expectThrowsMatching(() => ballQuery(xyz, c, NaN, 2), ['radius', 'positive']);
    expectThrowsMatching(() => ballQuery(xyz, c, 0.2, 0), ['nsample', 'positive integer']);
    tf.dispose([xyz, c]);
  });
});
