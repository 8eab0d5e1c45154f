import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        rng, toFloat64} from '@tfjs-ext/core/testing';
import {bsplineBasisDerivativeOp} from './grad';
import {BSPLINE_BASIS, bsplineBasis, bsplineBasisDerivative} from './op';
import {bsplineBasisDerivativeReference, bsplineBasisReference, uniformKnots} from './reference';

/** Per-feature grids: uniform on [-1, 1] with jittered interior knots (strictly increasing), float32-rounded. */
function makeGrid(nIn: number, gridSize: number, order: number, seed: number): Float64Array {
  const r = rng(seed);
  const base = uniformKnots(gridSize, order);
  const h = 2 / gridSize;
  const out = new Float64Array(nIn * base.length);
  for (let i = 0; i < nIn; i++) {
    for (let m = 0; m < base.length; m++) out[i * base.length + m] = Math.fround(base[m] + (r() - 0.5) * 0.6 * h);
  }
  return out;
}

describeBackends('kan: bsplineBasis', ({backend}) => {
  const batch = 7, nIn = 3, G = 5;

  for (const order of [1, 2, 3]) {
    it(`matches the float64 Cox-de Boor reference (order ${order}), including samples on knots`, async () => {
      const nKnots = G + 2 * order + 1;
      const gridV = makeGrid(nIn, G, order, 10 + order);
      const xv = randomArray(batch * nIn, 20 + order, -1.6, 1.6);
      for (let i = 0; i < nIn; i++) xv[i] = gridV[i * nKnots + order + 2];  // sample 0 sits exactly on a knot
      const x = tf.tensor2d(Float32Array.from(xv), [batch, nIn]);
      const grid = tf.tensor2d(Float32Array.from(gridV), [nIn, nKnots]);
      const out = bsplineBasis(x, grid, order);
      expect(out.shape).to.deep.equal([batch, nIn, G + order]);
      // cpu, wasm, webgpu and tensorflow have a kernel; other backends (webgl) run the composite.
      expect(lastDispatch(BSPLINE_BASIS)?.path).to.equal(
          ['cpu', 'wasm', 'webgpu', 'tensorflow'].includes(backend) ? 'kernel' : 'composite');
      expectClose(await toFloat64(out), bsplineBasisReference(xv, gridV, batch, nIn, nKnots, order),
                  {atol: 2e-6, rtol: 1e-5, name: 'basis'});
      const composite = withCompositeOnly(BSPLINE_BASIS, () => bsplineBasis(x, grid, order));
      expectClose(await toFloat64(composite), await toFloat64(out), {atol: 2e-6, rtol: 1e-5, name: 'composite'});
      tf.dispose([x, grid, out, composite]);
    });
  }

  it('is a partition of unity inside the grid range and zero outside the extended grid', async () => {
    const order = 3, nKnots = G + 2 * order + 1;
    const knots = Array.from(uniformKnots(G, order));
    const grid = tf.tensor2d(Float32Array.from(Array.from({length: nIn}, () => knots).flat()), [nIn, nKnots]);
    const inside = randomArray(64 * nIn, 3, -0.999, 0.999);
    const outside = Float32Array.from({length: 8 * nIn}, (_, j) => (j % 2 ? 1 : -1) * (2.21 + 0.1 * j));
    const bIn = bsplineBasis(tf.tensor2d(Float32Array.from(inside), [64, nIn]), grid, order);
    const bOut = bsplineBasis(tf.tensor2d(outside, [8, nIn]), grid, order);
    const vIn = await bIn.data(), vOut = await bOut.data();
    const sums = new Float64Array(64 * nIn);
    for (let r = 0; r < sums.length; r++) for (let m = 0; m < G + order; m++) sums[r] += vIn[r * (G + order) + m];
    expectClose(sums, new Float64Array(sums.length).fill(1), {atol: 1e-5, rtol: 0, name: 'sum of bases'});
    expect(Array.from(vIn).every((v) => v >= -1e-7)).to.equal(true);
    expectClose(vOut, new Float64Array(vOut.length), {atol: 0, rtol: 0, name: 'outside'});
    tf.dispose([grid, bIn, bOut]);
  });

  it('derivative matches the closed form and finite differences of the reference; gradient in x', async () => {
    const order = 3, nKnots = G + 2 * order + 1;
    const gridV = makeGrid(nIn, G, order, 5);
    // keep samples off knots by more than the finite-difference step
    const xv = randomArray(batch * nIn, 6, -1.3, 1.3);
    const grid = tf.tensor2d(Float32Array.from(gridV), [nIn, nKnots]);
    const x = tf.tensor2d(Float32Array.from(xv), [batch, nIn]);
    const d = bsplineBasisDerivative(x, grid, order);
    const ref = bsplineBasisDerivativeReference(xv, gridV, batch, nIn, nKnots, order);
    expectClose(await toFloat64(d), ref, {atol: 1e-4, rtol: 1e-4, name: 'dB/dx'});
    const dComposite = withCompositeOnly(bsplineBasisDerivativeOp.kernelName,
                                         () => bsplineBasisDerivative(x, grid, order));
    expectClose(await toFloat64(dComposite), ref, {atol: 1e-4, rtol: 1e-4, name: 'dB/dx composite'});
    dComposite.dispose();
    // finite differences of the float64 basis agree with the closed form
    const eps = 1e-6;
    const plus = bsplineBasisReference(xv.map((v) => v + eps), gridV, batch, nIn, nKnots, order);
    const minus = bsplineBasisReference(xv.map((v) => v - eps), gridV, batch, nIn, nKnots, order);
    expectClose(plus.map((p, j) => (p - minus[j]) / (2 * eps)), ref, {atol: 1e-5, rtol: 1e-5, name: 'fd vs closed'});
    for (const composite of [false, true]) {
      const run = () => checkGradients({
        f: (xt) => bsplineBasis(xt as tf.Tensor2D, grid, order),
        reference: (xs) => bsplineBasisReference(xs, gridV, batch, nIn, nKnots, order),
        inputs: [{shape: [batch, nIn], values: xv}],
        eps: 1e-5,
      });
      await (composite ? withCompositeOnly(BSPLINE_BASIS, run) : run());
    }
    tf.dispose([grid, x, d]);
  });

  it('does not leak (forward and gradient)', async () => {
    const grid = tf.tensor2d(Float32Array.from(uniformKnots(G, 3)), [1, G + 7]);
    const x = tf.tensor2d([[0.1], [0.7]]);
    await expectNoLeaks(() => bsplineBasis(x, grid, 3), 'bsplineBasis');
    await expectNoLeaks(() => tf.grad((xt: tf.Tensor) => tf.sum(bsplineBasis(xt as tf.Tensor2D, grid, 3)))(x),
                        'grad bsplineBasis');
    await expectNoLeaks(() => withCompositeOnly(BSPLINE_BASIS, () => bsplineBasis(x, grid, 3)), 'composite');
    tf.dispose([grid, x]);
  });

  it('rejects bad input with messages naming the argument and expected shape', () => {
    const grid = tf.zeros([2, 12]) as tf.Tensor2D;
    const x = tf.zeros([4, 2]) as tf.Tensor2D;
    expectThrowsMatching(() => bsplineBasis(tf.zeros([4]) as never, grid), ['x', 'rank 2', '[batch, nIn]']);
    expectThrowsMatching(() => bsplineBasis(x, tf.zeros([12]) as never), ['grid', '[nIn, nKnots]']);
    expectThrowsMatching(() => bsplineBasis(tf.zeros([4, 3]) as tf.Tensor2D, grid), ['grid', 'nIn = x.shape[1] = 3']);
    expectThrowsMatching(() => bsplineBasis(x, grid, 0), ['order', 'integer']);
    expectThrowsMatching(() => bsplineBasis(x, tf.zeros([2, 4]) as tf.Tensor2D, 3), ['grid', 'at least', '5 knots']);
    tf.dispose([grid, x]);
  });

  if (backend !== 'cpu') return;
  it('the reference is a partition of unity and vanishes outside the extended grid (float64)', () => {
    const knots = uniformKnots(4, 2);
    const xs = Float64Array.from([-0.99, -0.3, 0, 0.5, 0.99]);
    const b = bsplineBasisReference(xs, knots, 5, 1, knots.length, 2);
    for (let r = 0; r < 5; r++) expect(b.slice(r * 6, r * 6 + 6).reduce((a, v) => a + v, 0)).to.be.closeTo(1, 1e-12);
    expect(Array.from(bsplineBasisReference(Float64Array.from([2]), knots, 1, 1, knots.length, 2))).to.deep.equal(
        [0, 0, 0, 0, 0, 0]);
  });
});
