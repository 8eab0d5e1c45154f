import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {uniformKnots} from '../bspline/reference';
import {kan, kanLayers, refine, updateGrid} from './kan';
import {KANLinear, kanLinearForward} from './kan_linear';
import {kanLinearReference} from './reference';

/**
 * Gives every layer O(1) spline coefficients, smooth in the basis index (as trained splines are), with a random
 * phase per edge, so the splines are far from the tiny initial noise.
 */
async function randomizeSplines(model: tf.LayersModel, seed: number): Promise<void> {
  kanLayers(model).forEach((layer, l) => {
    const [nI, nBasis, nO] = layer.splineCoef.shape as number[];
    const phase = randomArray(nI * nO, seed + l, 0, 6.28);
    const coef = new Float32Array(nI * nBasis * nO);
    for (let i = 0; i < nI; i++) {
      for (let m = 0; m < nBasis; m++) {
        for (let j = 0; j < nO; j++) coef[(i * nBasis + m) * nO + j] = 0.5 * Math.sin(0.8 * m + phase[i * nO + j]);
      }
    }
    tf.tidy(() => {
      layer.splineCoef.write(tf.tensor(coef, [nI, nBasis, nO]));
    });
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function predict(model: tf.LayersModel, x: tf.Tensor): Promise<Float64Array> {
  const y = model.predict(x) as tf.Tensor;
  const out = await toFloat64(y);
  y.dispose();
  return out;
}

describeBackends('kan: KANLinear', () => {
  const batch = 6, nIn = 3, nOut = 2, G = 4, order = 3, nB = G + order, nKnots = G + 2 * order + 1;
  const knots = Array.from(uniformKnots(G, order), Math.fround);
  const gridV = Float64Array.from(Array.from({length: nIn}, () => knots).flat());

  it('forward matches the float64 reference', async () => {
    const layer = new KANLinear({units: nOut, gridSize: G, seed: 3, inputShape: [nIn]});
    const model = tf.sequential({layers: [layer]});
    await randomizeSplines(model, 1);
    const w = await layer.hostWeights();
    const xv = randomArray(batch * nIn, 2, -1.2, 1.2);
    const x = tf.tensor2d(Float32Array.from(xv), [batch, nIn]);
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).to.deep.equal([batch, nOut]);
    expectClose(await toFloat64(y), kanLinearReference(xv, w.baseWeight, w.splineCoef, w.splineScale, w.grid, batch,
                                                       nIn, nOut, order), {atol: 1e-5, rtol: 1e-4});
    await expectNoLeaks(() => layer.apply(x) as tf.Tensor, 'KANLinear.apply');
    tf.dispose([x, y]);
    model.dispose();
  });

  it('gradients in inputs, coefficients, base weights and spline scales match finite differences', async () => {
    const grid = tf.tensor2d(Float32Array.from(gridV), [nIn, nKnots]);
    await checkGradients({
      f: (x, bw, coef, scale) => kanLinearForward(x as tf.Tensor2D, bw as tf.Tensor2D, coef as tf.Tensor3D,
                                                  scale as tf.Tensor2D, grid, order),
      reference: (x, bw, coef, scale) => kanLinearReference(x, bw, coef, scale, gridV, batch, nIn, nOut, order),
      inputs: [
        {shape: [batch, nIn], values: randomArray(batch * nIn, 11, -1.1, 1.1)},
        {shape: [nIn, nOut], values: randomArray(nIn * nOut, 12)},
        {shape: [nIn, nB, nOut], values: randomArray(nIn * nB * nOut, 13)},
        {shape: [nIn, nOut], values: randomArray(nIn * nOut, 14, 0.5, 1.5)},
      ],
      eps: 1e-5,
    });
    grid.dispose();
  });

  it('updateGrid and refine preserve the function on the samples', async () => {
    const model = kan([2, 3, 1], {gridSize: 5, seed: 7});
    await randomizeSplines(model, 8);
    const x = tf.tensor2d(Float32Array.from(randomArray(400, 9)), [200, 2]);
    const y0 = await predict(model, x);
    const scale = Math.max(...Array.from(y0, Math.abs));
    await updateGrid(model, x);
    const y1 = await predict(model, x);
    // the grid moves from uniform [-1, 1] to sample quantiles, so the refit cannot be exact: measured 1.2e-3
    expect(maxAbsDiff(y1, y0) / scale).to.be.lessThan(5e-3);
    const fine = await refine(model, 10, x);
    expect(kanLayers(fine)[0].gridSize).to.equal(10);
    const y2 = await predict(fine, x);
    // a finer grid on the same samples represents the coarse splines almost exactly: measured 2e-7 (float32)
    expect(maxAbsDiff(y2, y1) / scale).to.be.lessThan(1e-5);
    x.dispose();
    model.dispose();
    fine.dispose();
  });

  it("hiddenRange 'edgeBounds' grids cover every hidden value of the samples' box and keep the function", async () => {
    const model = kan([2, 1, 1], {gridSize: 5, seed: 3});
    await randomizeSplines(model, 4);
    const x = tf.tensor2d(Float32Array.from(randomArray(100, 5, -0.9, 0.9)), [50, 2]);
    const y0 = await predict(model, x);
    const scale = Math.max(...Array.from(y0, Math.abs));
    await updateGrid(model, x, {hiddenRange: 'edgeBounds'});
    expect(maxAbsDiff(await predict(model, x), y0) / scale).to.be.lessThan(5e-3);
    // hidden values on a dense grid over the samples' box (input pairs the 50 samples never show together)
    const xs = await toFloat64(x);
    const box = (c: number) => {
      const column = xs.filter((_, i) => i % 2 === c);
      return [Math.min(...column), Math.max(...column)];
    };
    const [bx, by] = [box(0), box(1)];
    const dense = tf.tensor2d(Float32Array.from({length: 2 * 41 * 41}, (_, e) => {
      const p = e >> 1, t = (e & 1) === 0 ? (p % 41) / 40 : Math.floor(p / 41) / 40;
      return (e & 1) === 0 ? bx[0] + t * (bx[1] - bx[0]) : by[0] + t * (by[1] - by[0]);
    }), [41 * 41, 2]);
    const [first, second] = kanLayers(model);
    const hidden = await toFloat64(first.apply(dense) as tf.Tensor);
    const knots = await toFloat64(second.grid.read());
    const k = second.splineOrder, inner = [knots[k], knots[knots.length - 1 - k]];
    const slack = 1e-3 * (inner[1] - inner[0]);
    expect(Math.min(...hidden)).to.be.at.least(inner[0] - slack);
    expect(Math.max(...hidden)).to.be.at.most(inner[1] + slack);
    // with the samples' range instead, the dense box reaches past the grid (why the option exists)
    await updateGrid(model, x);
    const sampleKnots = await toFloat64(second.grid.read());
    const sampleInner = [sampleKnots[k], sampleKnots[sampleKnots.length - 1 - k]];
    expect(Math.min(...hidden) < sampleInner[0] || Math.max(...hidden) > sampleInner[1]).to.equal(true);
    tf.dispose([x, dense]);
    model.dispose();
  });

  it('save / load round-trip restores the grid and gives identical predictions', async () => {
    const model = kan([2, 3, 1], {gridSize: 4, seed: 1});
    await randomizeSplines(model, 2);
    const x = tf.tensor2d(Float32Array.from(randomArray(40, 3)), [20, 2]);
    await updateGrid(model, tf.mul(x, 0.7) as tf.Tensor2D);  // non-uniform grid: must come back from the file
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(kanLayers(loaded).length).to.equal(2);
    expect(Array.from(await predict(loaded, x))).to.deep.equal(Array.from(await predict(model, x)));
    x.dispose();
    model.dispose();
    loaded.dispose();
  });

  it('rejects bad arguments', () => {
    expectThrowsMatching(() => kan([2]), ['widths']);
    expectThrowsMatching(() => new KANLinear({units: 0}), ['units']);
    expectThrowsMatching(() => new KANLinear({units: 2, gridSize: 0}), ['gridSize']);
    expectThrowsMatching(() => new KANLinear({units: 2, gridRange: [1, -1]}), ['gridRange']);
    const model = kan([2, 1]);
    expectThrowsMatching(() => model.predict(tf.zeros([3, 3])), ['3']);
    model.dispose();
  });
});
