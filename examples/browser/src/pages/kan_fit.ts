/**
 * The KAN page's fit, kept free of DOM code so Node can run it too (examples/browser/check-kan-fit.ts states
 * the page's RMSE target from it): pykan's first tutorial, f(x, y) = exp(sin(pi x) + y^2) with a [2, 1, 1] KAN,
 * float32 L-BFGS on the active backend's graph (so the bsplineBasis kernel or composite does the work), grid
 * 5 then refined to 10.
 */
import * as tf from '@tensorflow/tfjs';
import {rng} from '@tfjs-ext/core';
import {kan, LBFGS, refine, updateGrid} from '@tfjs-ext/kan';

export const KAN_TARGET = (x: number, y: number) => Math.exp(Math.sin(Math.PI * x) + y * y);
export const KAN_FORMULA = 'exp(sin(pi x) + y^2)';
/** Test RMSE the page must reach (measured in Node: examples/browser/check-kan-fit.ts). */
export const KAN_RMSE_TARGET = 5e-3;
export const KAN_SCHEDULE = [{grid: 5, steps: 12}, {grid: 10, steps: 12}];

export function kanDataset(n: number, seed: number): {x: tf.Tensor2D; y: tf.Tensor2D} {
  const random = rng(seed);
  const xs = Float32Array.from({length: 2 * n}, () => 2 * random() - 1);
  const ys = Float32Array.from({length: n}, (_, i) => KAN_TARGET(xs[2 * i], xs[2 * i + 1]));
  return {x: tf.tensor2d(xs, [n, 2]), y: tf.tensor2d(ys, [n, 1])};
}

export async function rmse(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D): Promise<number> {
  const e = tf.tidy(() => tf.sqrt(tf.mean(tf.square(tf.sub(model.apply(x) as tf.Tensor, y)))));
  const v = (await e.data())[0];
  e.dispose();
  return v;
}

/** Fits the [2, 1, 1] KAN, calling `onStep` after every L-BFGS step; returns the model (caller disposes). */
export async function fitKAN(train: {x: tf.Tensor2D; y: tf.Tensor2D},
                             onStep: (info: {grid: number; step: number; loss: number}) => Promise<void> | void):
    Promise<tf.Sequential> {
  let model = kan([2, 1, 1], {gridSize: KAN_SCHEDULE[0].grid, seed: 1, scaleNoise: 0.3, gridEps: 1});
  let total = 0;
  for (const [n, {grid, steps}] of KAN_SCHEDULE.entries()) {
    if (n > 0) {
      const fine = await refine(model, grid, train.x, {hiddenRange: 'edgeBounds'});
      model.dispose();
      model = fine;
    }
    const opt = new LBFGS(model.trainableWeights.map((w) => w.read() as tf.Variable),
                          {historySize: 10, maxIter: 20, toleranceGrad: 1e-12, toleranceChange: 1e-12});
    const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(model.apply(train.x) as tf.Tensor, train.y))) as tf.Scalar);
    for (let s = 0; s < steps; s++) {
      if (s > 0 && s % 4 === 0 && s < steps / 2) {
        await updateGrid(model, train.x, {hiddenRange: 'edgeBounds'});
        opt.reset();
      }
      const value = await opt.step(loss);
      await onStep({grid, step: ++total, loss: value});
    }
  }
  return model;
}
