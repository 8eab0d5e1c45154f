import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {THREE_NN, threeNN} from './op';
import {threeNNReference} from './reference';
import {pointImpls} from '../simd/module';

describeBackends('pointnet2: threeNN', ({backend}) => {
  const kernelPath = ['cpu', 'wasm', 'webgpu'].includes(backend) ? 'kernel' : 'composite';
  const run = async (unknown: tf.Tensor3D, known: tf.Tensor3D, composite: boolean) => {
    const {dist2, idx} = composite ? withCompositeOnly(THREE_NN, () => threeNN(unknown, known)) : threeNN(unknown, known);
    if (!composite) expect(lastDispatch(THREE_NN)?.path).to.equal(kernelPath);
    expect(idx.dtype).to.equal('int32');
    expect(dist2.shape).to.deep.equal([unknown.shape[0], unknown.shape[1], 3]);
    const r = {dist2: await toFloat64(dist2), idx: Array.from(await idx.data())};
    tf.dispose([dist2, idx]);
    return r;
  };

  it('hand-computed: nearest first, equal distances to the lower index', async () => {
    const known = tf.tensor3d([[[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, 0, 5]]]);
    const unknown = tf.tensor3d([[[0, 0, 0], [1, 0, 0], [0, 0, 4]]]);
    // (0,0,0): three points at 1 -> 0, 1, 2; (1,0,0): 0 (d 0), 2 (d 2), 1 (d 4); (0,0,4): 3 (1), then 0,1,2 at 17
    const expectedIdx = [0, 1, 2, 0, 2, 1, 3, 0, 1];
    const expectedD = [1, 1, 1, 0, 2, 4, 1, 17, 17];
    // topk orders equal values by index on cpu and wasm; elsewhere (webgl, tensorflow) the composite's tie order
    // is unspecified, so there each row's set of indices is checked instead of its order.
    const tieOrdered = (composite: boolean) => ['cpu', 'wasm'].includes(backend) || (!composite && kernelPath === 'kernel');
    for (const composite of [false, true]) {
      const r = await run(unknown, known, composite);
      expectClose(r.dist2, expectedD, {atol: 0, rtol: 0, name: `dist2${composite ? ' composite' : ''}`});
      if (tieOrdered(composite)) {
        expect(r.idx).to.deep.equal(expectedIdx);
      } else {
        const rows = (a: number[]) => [0, 3, 6].map((o) => a.slice(o, o + 3).sort());
        expect(rows(r.idx)).to.deep.equal(rows(expectedIdx));
      }
    }
    tf.dispose([known, unknown]);
  });

  it('matches the float64 reference on random clouds (kernel and composite)', async () => {
    const batch = 2, n = 33, m = 9;
    const u = randomArray(batch * n * 3, 31), k = randomArray(batch * m * 3, 32);
    const unknown = tf.tensor3d(Float32Array.from(u), [batch, n, 3]);
    const known = tf.tensor3d(Float32Array.from(k), [batch, m, 3]);
    const ref = threeNNReference(u, k, batch, n, m);
    for (const composite of [false, true]) {
      const r = await run(unknown, known, composite);
      expect(r.idx).to.deep.equal(ref.idx);
      expectClose(r.dist2, ref.dist2, {atol: 1e-6, rtol: 1e-5, name: 'dist2'});
    }
    tf.dispose([unknown, known]);
  });

  if (['cpu', 'wasm'].includes(backend)) {
    it(`every host implementation (${pointImpls.names().join(', ')}) matches the reference and orders ties`, async () => {
      expect(pointImpls.names()).to.include('simd');
      const batch = 2, n = 50, m = 37;
      const u = randomArray(batch * n * 3, 41), k = randomArray(batch * m * 3, 42);
      const ref = threeNNReference(u, k, batch, n, m);
      const unknown = tf.tensor3d(Float32Array.from(u), [batch, n, 3]);
      const known = tf.tensor3d(Float32Array.from(k), [batch, m, 3]);
      // equal distances at 1: indices 0, 1, 2 and 4 (5 lanes: the tie crosses a vector of 4)
      const tk = tf.tensor3d([[[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, 0, 5], [0, -1, 0]]]);
      const tu = tf.tensor3d([[[0, 0, 0], [0, 0, 4]]]);
      for (const impl of pointImpls.names()) {
        const r = pointImpls.withForced(impl, () => threeNN(unknown, known));
        const t = pointImpls.withForced(impl, () => threeNN(tu, tk));
        expect(Array.from(await r.idx.data()), impl).to.deep.equal(ref.idx);
        expectClose(await toFloat64(r.dist2), ref.dist2, {atol: 1e-6, rtol: 1e-5, name: `${impl} dist2`});
        expect(Array.from(await t.idx.data()), `${impl} ties`).to.deep.equal([0, 1, 2, 3, 0, 1]);
        expectClose(await toFloat64(t.dist2), [1, 1, 1, 1, 17, 17], {atol: 0, rtol: 0, name: `${impl} tied dist2`});
        tf.dispose([r.dist2, r.idx, t.dist2, t.idx]);
      }
      tf.dispose([unknown, known, tk, tu]);
    });
  }

  it('does not leak', async () => {
    const known = tf.tensor3d(Float32Array.from(randomArray(15, 1)), [1, 5, 3]);
    const unknown = tf.tensor3d(Float32Array.from(randomArray(12, 2)), [1, 4, 3]);
    await expectNoLeaks(() => { const r = threeNN(unknown, known); return [r.dist2, r.idx]; }, 'threeNN');
    await expectNoLeaks(() => withCompositeOnly(THREE_NN, () => { const r = threeNN(unknown, known); return [r.dist2, r.idx]; }),
                        'composite');
    tf.dispose([known, unknown]);
  });

  it('rejects bad input naming the argument', () => {
    const u = tf.zeros([2, 4, 3]) as tf.Tensor3D, k = tf.zeros([2, 5, 3]) as tf.Tensor3D;
    expectThrowsMatching(() => threeNN(tf.zeros([4, 3]) as never, k), ['unknown', 'rank 3', '[batch, n, 3]']);
    expectThrowsMatching(() => threeNN(u, tf.zeros([2, 5, 4]) as tf.Tensor3D), ['known', '[batch, m, 3]']);
    expectThrowsMatching(() => threeNN(u, tf.zeros([2, 2, 3]) as tf.Tensor3D), ['known', 'm >= 3', '[2, 2, 3]']);
    expectThrowsMatching(() => threeNN(u, tf.zeros([1, 5, 3]) as tf.Tensor3D), ['known', 'batch size']);
    tf.dispose([u, k]);
  });
});
