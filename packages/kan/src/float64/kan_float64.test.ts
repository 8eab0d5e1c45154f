import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends, expectClose, expectThrowsMatching, randomArray, toFloat64} from '@tfjs-ext/core/testing';
import {kan, kanLayers, updateGrid} from '../layers/kan';
import {kanLinearReference} from '../layers/reference';
import {Float64LBFGS, LBFGS} from '../lbfgs/lbfgs';
import {KANFloat64MSE} from './kan_float64';

/** A [3, 4, 2] KAN with O(1) splines on a data-adapted (non-uniform) grid, and data for it. */
async function fixture(seed: number) {
  const n = 24;
  const model = kan([3, 4, 2], {gridSize: 4, seed});
  for (const [l, layer] of kanLayers(model).entries()) {
    const shape = layer.splineCoef.shape as number[];
    const coef = randomArray(shape.reduce((a, b) => a * b, 1), seed + 10 + l, -0.6, 0.6);
    tf.tidy(() => {
      layer.splineCoef.write(tf.tensor(Float32Array.from(coef), shape));
    });
  }
  const x = tf.tensor2d(Float32Array.from(randomArray(n * 3, seed + 20, -1, 1)), [n, 3]);
  const y = tf.tensor2d(Float32Array.from(randomArray(n * 2, seed + 30, -1, 1)), [n, 2]);
  await updateGrid(model, x);  // per-feature quantile knots, and hidden-layer grids on the hidden activations
  return {model, x, y, n};
}

describeBackends('kan: KANFloat64MSE (float64 host objective)', () => {
  it('forward matches the float64 layer reference and the tfjs model', async () => {
    const {model, x, y, n} = await fixture(1);
    const objective = await KANFloat64MSE.create(model, x, y);
    const xs = await toFloat64(x);
    const ours = objective.predict(xs, n);
    // chain the float64 single-layer oracle through both layers
    let h = xs;
    for (const layer of kanLayers(model)) {
      const w = await layer.hostWeights();
      h = kanLinearReference(h, w.baseWeight, w.splineCoef, w.splineScale, w.grid, n, w.nIn, w.nOut, w.order);
    }
    expectClose(ours, h, {atol: 1e-12, rtol: 1e-12});
    const tfOut = model.predict(x) as tf.Tensor;
    expectClose(ours, await toFloat64(tfOut), {atol: 1e-5, rtol: 1e-4});
    tf.dispose([tfOut, x, y]);
    model.dispose();
  });

  it('gradient matches float64 central differences (with the curvature penalty)', async () => {
    const {model, x, y} = await fixture(2);
    const objective = await KANFloat64MSE.create(model, x, y);
    objective.curvature = 1e-3;
    const p0 = objective.read();
    const {grad} = objective.evaluate();
    const eps = 1e-6;
    let worst = 0;
    for (let q = 0; q < p0.length; q += 3) {  // every third parameter: all three weight kinds of both layers
      const at = (delta: number) => {
        const p = p0.slice();
        p[q] += delta;
        objective.write(p);
        return objective.evaluate().loss;
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - grad[q]) / Math.max(1e-3, Math.abs(fd)));
    }
    objective.write(p0);
    expect(worst).to.be.lessThan(1e-6);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('gradient matches the tfjs gradient of the same loss (float32)', async () => {
    const {model, x, y} = await fixture(3);
    const objective = await KANFloat64MSE.create(model, x, y);
    const ours = objective.evaluate();
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const {value, grads} = tf.variableGrads(
        () => tf.mean(tf.square(tf.sub(model.apply(x) as tf.Tensor, y))) as tf.Scalar, vars);
    const flat = tf.concat(vars.map((v) => tf.reshape(grads[v.name], [-1])));
    expect(ours.loss).to.be.closeTo((await value.data())[0], 1e-5 * ours.loss + 1e-7);
    expectClose(ours.grad, await toFloat64(flat), {atol: 2e-5, rtol: 2e-3});
    tf.dispose([value, flat, ...Object.values(grads), x, y]);
    model.dispose();
  });

  it('commit writes the float64 weights (rounded) to the model; load picks up grid updates', async () => {
    const {model, x, y, n} = await fixture(4);
    const objective = await KANFloat64MSE.create(model, x, y);
    const opt = new Float64LBFGS({maxIter: 10});
    const before = objective.evaluate().loss;
    await opt.step(objective);
    const after = objective.evaluate().loss;
    expect(after).to.be.lessThan(before);
    const before64 = objective.predict(await toFloat64(x), n);
    objective.commit();
    const committed = model.predict(x) as tf.Tensor;
    expectClose(await toFloat64(committed), before64, {atol: 1e-5, rtol: 1e-4});
    await updateGrid(model, x);
    await objective.load();
    const reloaded = model.predict(x) as tf.Tensor;
    expectClose(objective.predict(await toFloat64(x), n), await toFloat64(reloaded), {atol: 1e-5, rtol: 1e-4});
    tf.dispose([committed, reloaded, x, y]);
    model.dispose();
  });

  it('does not leak tensors', async () => {
    const {model, x, y} = await fixture(5);
    const start = tf.memory().numTensors;
    const objective = await KANFloat64MSE.create(model, x, y);
    await new Float64LBFGS({maxIter: 3}).step(objective);
    objective.commit();
    await objective.load();
    expect(tf.memory().numTensors).to.equal(start);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('rejects bad input, naming the argument', async () => {
    const {model, x, y} = await fixture(6);
    const wide = tf.zeros([24, 5]) as tf.Tensor2D;
    await expectRejects(() => KANFloat64MSE.create(model, wide, y), ['KANFloat64MSE', 'x must be [n, 3]']);
    const y1 = tf.zeros([24, 1]) as tf.Tensor2D;
    await expectRejects(() => KANFloat64MSE.create(model, x, y1), ['KANFloat64MSE', 'y must be [24, 2]']);
    await expectRejects(() => KANFloat64MSE.create(model, x, new Float64Array(5)), ['y must hold', '48']);
    const dense = tf.sequential({layers: [tf.layers.dense({units: 2, inputShape: [3]})]});
    await expectRejects(() => KANFloat64MSE.create(dense, x, y), ['KANLinear']);
    const objective = await KANFloat64MSE.create(model, x, y);
    expectThrowsMatching(() => objective.write(new Float64Array(3)), ['values', 'parameters']);
    tf.dispose([wide, y1, x, y]);
    model.dispose();
    dense.dispose();
  });
});

async function expectRejects(fn: () => Promise<unknown>, fragments: string[]): Promise<void> {
  let error: unknown = null;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a rejection').to.be.instanceOf(Error);
  for (const f of fragments) expect((error as Error).message).to.contain(f);
}

describe('kan: Float64LBFGS', () => {
  it('reaches float64 precision on Rosenbrock (beyond float32 resolution)', async () => {
    const x = Float64Array.of(-1.2, 1);
    const opt = new Float64LBFGS({maxIter: 200, toleranceGrad: 1e-14, toleranceChange: 1e-20});
    await opt.step({
      read: () => x.slice(),
      write: (v) => x.set(v),
      evaluate: () => ({loss: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2,
                        grad: Float64Array.of(-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
                                              200 * (x[1] - x[0] ** 2))}),
    });
    // float32 spacing near 1 is 1.2e-7: this needs the float64 path
    expect(Math.abs(x[0] - 1)).to.be.lessThan(1e-9);
    expect(Math.abs(x[1] - 1)).to.be.lessThan(2e-9);
    expect(opt.iterations).to.be.lessThan(60);
  });

  it('LBFGS over tfjs variables shares the options and counters of its float64 core', () => {
    const v = tf.variable(tf.zeros([2]));
    const opt = new LBFGS([v], {historySize: 4});
    expect(opt.options.historySize).to.equal(4);
    expect(opt.iterations).to.equal(0);
    v.dispose();
  });
});
