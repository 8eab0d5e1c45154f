import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {describeBackends, expectNoLeaks, expectThrowsMatching, randomArray} from '@tfjs-ext/core/testing';
import {BALL_QUERY, ballQuery} from './op';
import {ballQueryReference} from './reference';
import {pointImpls} from '../simd/module';

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

  if (['cpu', 'wasm'].includes(backend)) {
    it(`every host implementation (${pointImpls.names().join(', ')}) decides points on the radius as float64 does`, async () => {
      expect(pointImpls.names()).to.include('simd');
      // 3 centres; around each, 101 points at distance radius * (1 + e), e in [-3e-7, 3e-7] (float32 rounding
      // straddles radius^2), plus far points; float32 coordinates, so the float64 oracle sees what the kernel sees
      const batch = 1, s = 3, perCentre = 101, radius = 0.2, nsample = 40;
      const rand = randomArray(s * perCentre * 3, 5);
      const c = Float32Array.from(randomArray(s * 3, 6, -0.5, 0.5));
      const pts: number[] = [];
      for (let i = 0; i < s * perCentre; i++) {
        const centre = Math.floor(i / perCentre);
        const dir = [rand[i * 3], rand[i * 3 + 1], rand[i * 3 + 2] + 0.01];
        const len = Math.hypot(dir[0], dir[1], dir[2]);
        const dist = radius * (1 + 3e-7 * (2 * (i % 7) / 6 - 1));
        for (let k = 0; k < 3; k++) pts.push(c[centre * 3 + k] + dir[k] / len * dist);
      }
      for (let i = 0; i < 30; i++) pts.push(5 + i, 5, 5);  // far away
      const v = Float32Array.from(pts), n = v.length / 3;
      const ref = ballQueryReference(v, c, batch, n, s, radius, nsample);
      const xyz = tf.tensor3d(v, [batch, n, 3]), centres = tf.tensor3d(c, [batch, s, 3]);
      for (const impl of pointImpls.names()) {
        const out = pointImpls.withForced(impl, () => ballQuery(xyz, centres, radius, nsample));
        expect(Array.from(await out.data()), impl).to.deep.equal(ref);
        out.dispose();
      }
      // the boundary cases are real: of centre 0's own points (float64 test), some are in and some out
      const d64 = (j: number) => [0, 1, 2].reduce((a, k) => a + (v[j * 3 + k] - c[k]) ** 2, 0);
      const ins = Array.from({length: perCentre}, (_, j) => d64(j) < radius * radius).filter(Boolean).length;
      expect(ins).to.be.within(10, perCentre - 10);
      tf.dispose([xyz, centres]);
    });
  }

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
