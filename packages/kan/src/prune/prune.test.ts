import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends, expectClose, randomArray, toFloat64} from '@tfjs-ext/core/testing';
import {coxDeBoor} from '../bspline/reference';
import {kan, kanLayers, kanWidths} from '../layers/kan';
import {kanRegularization} from '../regularization/regularization';
import {prune} from './prune';

/** Zeroes hidden node `node`'s incoming (layer 0 column) and outgoing (layer 1 row) edges of a [nIn, h, nOut] KAN. */
async function silenceNode(model: tf.LayersModel, node: number): Promise<void> {
  const [l0, l1] = kanLayers(model);
  const zeroWhere = async (v: tf.LayerVariable, keep: (idx: number[]) => boolean) => {
    const shape = v.shape as number[];
    const values = Float32Array.from(await v.read().data() as Float32Array);
    const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    for (let e = 0; e < values.length; e++) {
      const idx = strides.map((s, d) => Math.floor(e / s) % shape[d]);
      if (!keep(idx)) values[e] = 0;
    }
    tf.tidy(() => {
      v.write(tf.tensor(values, shape));
    });
  };
  await zeroWhere(l0.baseWeight, (i) => i[1] !== node);
  await zeroWhere(l0.splineCoef, (i) => i[2] !== node);
  await zeroWhere(l1.baseWeight, (i) => i[0] !== node);
  await zeroWhere(l1.splineCoef, (i) => i[0] !== node);
}

describeBackends('kan: prune and regularisation', () => {
  it('prune drops a silent hidden node and keeps the predictions', async () => {
    const model = kan([2, 3, 1], {gridSize: 3, seed: 4, scaleNoise: 1});
    await silenceNode(model, 1);
    const x = tf.tensor2d(Float32Array.from(randomArray(64, 5)), [32, 2]);
    const small = await prune(model, x, {threshold: 1e-3});
    expect(kanWidths(small)).to.deep.equal([2, 2, 1]);
    const y0 = model.predict(x) as tf.Tensor, y1 = small.predict(x) as tf.Tensor;
    expectClose(await toFloat64(y1), await toFloat64(y0), {atol: 1e-6, rtol: 1e-5, name: 'pruned predictions'});
    let message = '';
    await prune(model, x, {threshold: -1}).catch((e: Error) => { message = e.message; });
    expect(message).to.match(/threshold must be >= 0/);
    tf.dispose([x, y0, y1]);
    model.dispose();
    small.dispose();
  });

  it('regulariser matches a float64 evaluation of the paper formula and is differentiable', async () => {
    const model = kan([2, 2], {gridSize: 3, seed: 2, scaleNoise: 1});
    const layer = kanLayers(model)[0];
    const w = await layer.hostWeights();
    const n = 16;
    const xv = randomArray(n * 2, 7);
    const x = tf.tensor2d(Float32Array.from(xv), [n, 2]);
    const reg = kanRegularization(model, x, {lambdaL1: 1, lambdaEntropy: 2});
    // float64: v_ij = mean |phi_ij| / (grid range + 1e-4), L1 + 2 * (H over inputs + H over outputs)
    const nK = w.grid.length / 2, nB = nK - 4;
    const v = new Float64Array(4);
    for (let s = 0; s < n; s++) {
      for (let i = 0; i < 2; i++) {
        const xs = xv[s * 2 + i];
        const knots = w.grid.subarray(i * nK, (i + 1) * nK);
        for (let j = 0; j < 2; j++) {
          let spline = 0;
          for (let m = 0; m < nB; m++) spline += w.splineCoef[(i * nB + m) * 2 + j] * coxDeBoor(xs, knots, m, 3);
          const phi = w.baseWeight[i * 2 + j] * xs / (1 + Math.exp(-xs)) + w.splineScale[i * 2 + j] * spline;
          v[i * 2 + j] += Math.abs(phi) / n / (knots[nK - 1] - knots[0] + 1e-4);
        }
      }
    }
    const entropy = (p: number[][]) => -p.map((row) => row.reduce((a, q) => a + q * Math.log2(q + 1e-4), 0))
                                         .reduce((a, b) => a + b, 0) / p.length;
    const colSum = [v[0] + v[2], v[1] + v[3]], rowSum = [v[0] + v[1], v[2] + v[3]];
    const pIn = [0, 1].map((j) => [0, 1].map((i) => v[i * 2 + j] / (colSum[j] + 1)));
    const pOut = [0, 1].map((i) => [0, 1].map((j) => v[i * 2 + j] / (rowSum[i] + 1)));
    const expected = v.reduce((a, b) => a + b, 0) + 2 * (entropy(pIn) + entropy(pOut));
    expectClose(await reg.data(), [expected], {rtol: 1e-4, atol: 1e-6, name: 'regulariser'});
    const grads = tf.grads((xt: tf.Tensor) => kanRegularization(model, xt as tf.Tensor2D))([x]);
    expect(Array.from(await grads[0].data()).every(Number.isFinite)).to.equal(true);
    tf.dispose([x, reg, ...grads]);
    model.dispose();
  });
});
