/**
 * A KAN's mean squared error and its gradient in float64 on the host, as an L-BFGS problem.
 *
 * Why: fitting a smooth target to 1e-5 RMSE asks L-BFGS to resolve loss changes far below float32 rounding of the
 * loss (predictions near e^2 carry ~2.4e-7 rounding each; near 1e-4 RMSE the loss then moves by ~1e-12 per step,
 * the size of its own noise) so the float32 line search stalls. pykan fits in float64. This objective keeps a
 * float64 copy of the trainable weights, runs forward and backward in float64 on the host, and writes the weights
 * (rounded to float32) back to the tfjs model on `commit()`: the model stays an ordinary LayersModel.
 *
 * Cost per evaluation: O(n * sum_l nIn_l * nOut_l * (k + 1)) on one core; meant for function-fitting sizes (pykan's
 * tutorials), not for image models.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertRank} from '@tfjs-ext/core';
import {basisDerivativeRow, basisRow} from '../bspline/host';
import {kanLayers} from '../layers/kan';
import {KANLinear} from '../layers/kan_linear';
import type {Evaluation, LBFGSProblem} from '../lbfgs/lbfgs';

/** One KANLinear layer's sizes, knots and place in the flat parameter vector. */
interface LayerPlan {
  nIn: number;
  nOut: number;
  nBasis: number;
  order: number;
  nKnots: number;
  grid: Float64Array;  // [nIn, nKnots]
  offset: number;      // baseWeight [nIn, nOut], splineCoef [nIn, nBasis, nOut], splineScale [nIn, nOut] follow
}

/** What the backward pass needs from the forward pass of one layer. */
interface LayerCache {
  input: Float64Array;   // [n, nIn]
  silu: Float64Array;    // [n, nIn]
  basis: Float64Array;   // [n, nIn, nBasis]
  spline: Float64Array;  // [n, nIn, nOut]: sum_m coef B_m (before the spline scale)
}

function layerSize(p: LayerPlan): number {
  return p.nIn * p.nOut * (p.nBasis + 2);
}

/** Views of a layer's weights inside the flat vector `v` (parameters or gradient). */
function views(p: LayerPlan, v: Float64Array): {base: Float64Array; coef: Float64Array; scale: Float64Array} {
  const edges = p.nIn * p.nOut;
  const coefEnd = p.offset + edges + edges * p.nBasis;
  return {base: v.subarray(p.offset, p.offset + edges), coef: v.subarray(p.offset + edges, coefEnd),
          scale: v.subarray(coefEnd, coefEnd + edges)};
}

/** y_j = sum_i base_ij silu(x_i) + scale_ij sum_m coef_imj B_m(x_i), in float64. */
function layerForward(p: LayerPlan, params: Float64Array, input: Float64Array, n: number):
    {out: Float64Array; cache: LayerCache} {
  const {nIn, nOut, nBasis, order, nKnots, grid} = p;
  const {base, coef, scale} = views(p, params);
  const silu = new Float64Array(n * nIn);            // [n, nIn]
  const basis = new Float64Array(n * nIn * nBasis);  // [n, nIn, nBasis]
  const spline = new Float64Array(n * nIn * nOut);   // [n, nIn, nOut]
  const out = new Float64Array(n * nOut);            // [n, nOut]
  const row = new Float64Array(nKnots);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < nIn; i++) {
      const x = input[b * nIn + i];
      const s = x / (1 + Math.exp(-x));
      silu[b * nIn + i] = s;
      basisRow(x, grid, i * nKnots, nKnots, order, row);
      basis.set(row.subarray(0, nBasis), (b * nIn + i) * nBasis);
      for (let m = 0; m < nBasis; m++) {
        const bm = row[m];
        if (bm === 0) continue;
        const c = (i * nBasis + m) * nOut, o = (b * nIn + i) * nOut;
        for (let j = 0; j < nOut; j++) spline[o + j] += bm * coef[c + j];
      }
      for (let j = 0; j < nOut; j++) {
        out[b * nOut + j] += base[i * nOut + j] * s + scale[i * nOut + j] * spline[(b * nIn + i) * nOut + j];
      }
    }
  }
  return {out, cache: {input, silu, basis, spline}};
}

/**
 * Accumulates the layer's weight gradients into `grad` from `dOut` `[n, nOut]`; returns dLoss/dInput `[n, nIn]`
 * when `inputGrad` (hidden layers).
 */
function layerBackward(p: LayerPlan, params: Float64Array, cache: LayerCache, dOut: Float64Array, n: number,
                       grad: Float64Array, inputGrad: boolean): Float64Array | null {
  const {nIn, nOut, nBasis, order, nKnots, grid} = p;
  const {base, coef, scale} = views(p, params);
  const g = views(p, grad);
  const dInput = inputGrad ? new Float64Array(n * nIn) : null;  // [n, nIn]
  const lower = new Float64Array(nKnots);
  const dBasis = new Float64Array(nBasis);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < nIn; i++) {
      const bi = b * nIn + i;
      const s = cache.silu[bi];
      for (let j = 0; j < nOut; j++) {
        const gj = dOut[b * nOut + j];
        if (gj === 0) continue;
        const e = i * nOut + j;
        g.base[e] += gj * s;
        g.scale[e] += gj * cache.spline[bi * nOut + j];
        const gs = gj * scale[e];
        for (let m = 0; m < nBasis; m++) {
          const bm = cache.basis[bi * nBasis + m];
          if (bm !== 0) g.coef[(i * nBasis + m) * nOut + j] += gs * bm;
        }
      }
      if (dInput === null) continue;
      const x = cache.input[bi];
      const sig = 1 / (1 + Math.exp(-x));
      const dSilu = sig * (1 + x * (1 - sig));
      basisDerivativeRow(x, grid, i * nKnots, nKnots, order, lower, dBasis);
      let d = 0;
      for (let j = 0; j < nOut; j++) {
        const gj = dOut[b * nOut + j];
        if (gj === 0) continue;
        const e = i * nOut + j;
        let dSpline = 0;
        for (let m = 0; m < nBasis; m++) {
          if (dBasis[m] !== 0) dSpline += coef[(i * nBasis + m) * nOut + j] * dBasis[m];
        }
        d += gj * (base[e] * dSilu + scale[e] * dSpline);
      }
      dInput[bi] = d;
    }
  }
  return dInput;
}

/**
 * The mean squared error of a KAN (a stack of {@link KANLinear}, as built by `kan()`) on fixed data, evaluated in
 * float64 on the host, as an {@link LBFGSProblem} for {@link Float64LBFGS}. It holds a float64 copy of the
 * trainable weights (the model's `trainableWeights` order); `commit()` writes them, rounded to float32, to the
 * model, and `load()` re-reads weights and grids after the model was changed from outside (e.g. `updateGrid`).
 *
 * @example
 * ```ts
 * const objective = await KANFloat64MSE.create(model, xTrain, yTrain);
 * const opt = new Float64LBFGS({historySize: 10, maxIter: 20});
 * for (let step = 0; step < 100; step++) await opt.step(objective);
 * objective.commit();  // the tfjs model now holds the float64 fit, rounded to float32
 * ```
 */
export class KANFloat64MSE implements LBFGSProblem {
  /** The trainable weights in float64, concatenated in the model's `trainableWeights` order. */
  readonly params: Float64Array;

  /**
   * Weight of a P-spline penalty `curvature * sum (c[m-1] - 2 c[m] + c[m+1])^2` over every edge's coefficients
   * (default 0). A small value steadies the end coefficients that only a few samples constrain, so the spline
   * continues smoothly just beyond the samples.
   */
  curvature = 0;

  private constructor(private readonly layers: KANLinear[], private readonly plans: LayerPlan[],
                      private readonly x: Float64Array, private readonly y: Float64Array, readonly n: number) {
    this.params = new Float64Array(plans.reduce((a, p) => a + layerSize(p), 0));
  }

  /**
   * @param model a stack of KANLinear layers.
   * @param x inputs `[n, nIn]`.
   * @param y targets `[n, nOut]`: a tensor, or a float64 array of `n * nOut` values (exact targets, unrounded).
   */
  static async create(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D | Float64Array): Promise<KANFloat64MSE> {
    const layers = kanLayers(model);
    assertArg(layers.length > 0 && layers.length === model.layers.length, 'KANFloat64MSE',
              () => 'model must be a stack of KANLinear layers (as built by kan())');
    assertRank(x, 2, 'KANFloat64MSE', 'x');
    const [n, nIn] = x.shape;
    const widthIn = layers[0].baseWeight.shape[0] as number, nOut = layers[layers.length - 1].units;
    assertArg(nIn === widthIn, 'KANFloat64MSE', () => `x must be [n, ${widthIn}], got [${x.shape}]`);
    if (y instanceof Float64Array) {
      assertArg(y.length === n * nOut, 'KANFloat64MSE',
                () => `y must hold n * nOut = ${n * nOut} values, got ${y.length}`);
    } else {
      assertRank(y, 2, 'KANFloat64MSE', 'y');
      assertArg(y.shape[0] === n && y.shape[1] === nOut, 'KANFloat64MSE',
                () => `y must be [${n}, ${nOut}] (x's batch, the model's outputs), got [${y.shape}]`);
    }
    const ys = y instanceof Float64Array ? y.slice() : Float64Array.from(await y.data());
    const plans: LayerPlan[] = [];
    let offset = 0;
    for (const layer of layers) {
      const [lIn, lOut] = layer.baseWeight.shape as number[];
      const nKnots = layer.grid.shape[1] as number;
      const plan = {nIn: lIn, nOut: lOut, nBasis: layer.nBasis, order: layer.splineOrder, nKnots,
                    grid: new Float64Array(lIn * nKnots), offset};
      plans.push(plan);
      offset += layerSize(plan);
    }
    const objective = new KANFloat64MSE(layers, plans, Float64Array.from(await x.data()), ys, n);
    await objective.load();
    return objective;
  }

  /** Re-reads the weights and grids from the model (after grid updates or other changes from outside). */
  async load(): Promise<void> {
    for (let l = 0; l < this.layers.length; l++) {
      const layer = this.layers[l], plan = this.plans[l];
      assertArg(layer.nBasis === plan.nBasis && layer.grid.shape[1] === plan.nKnots, 'KANFloat64MSE.load',
                () => 'the model\'s grid sizes changed; create a new objective for a refined model');
      const w = await layer.hostWeights();
      const v = views(plan, this.params);
      v.base.set(w.baseWeight);
      v.coef.set(w.splineCoef);
      v.scale.set(w.splineScale);
      plan.grid.set(w.grid);
    }
  }

  /** Writes the float64 weights, rounded to float32, into the model's variables. */
  commit(): void {
    tf.tidy(() => {
      for (let l = 0; l < this.layers.length; l++) {
        const layer = this.layers[l], plan = this.plans[l], v = views(plan, this.params);
        layer.baseWeight.write(tf.tensor(Float32Array.from(v.base), [plan.nIn, plan.nOut]));
        layer.splineCoef.write(tf.tensor(Float32Array.from(v.coef), [plan.nIn, plan.nBasis, plan.nOut]));
        layer.splineScale.write(tf.tensor(Float32Array.from(v.scale), [plan.nIn, plan.nOut]));
      }
    });
  }

  read(): Float64Array {
    return this.params.slice();
  }

  write(values: Float64Array): void {
    assertArg(values.length === this.params.length, 'KANFloat64MSE.write',
              () => `values must hold ${this.params.length} parameters, got ${values.length}`);
    this.params.set(values);
  }

  /** The network on `x` `[n, nIn]` (row-major) in float64 with the current float64 weights: `[n, nOut]`. */
  predict(x: Float64Array, n: number): Float64Array {
    let h = x;
    for (const plan of this.plans) h = layerForward(plan, this.params, h, n).out;
    return h;
  }

  /** The loss (mean over samples and outputs of the squared error) and its gradient, in float64. */
  evaluate(): Evaluation {
    const caches: LayerCache[] = [];
    let h = this.x;
    for (const plan of this.plans) {
      const {out, cache} = layerForward(plan, this.params, h, this.n);
      caches.push(cache);
      h = out;  // [n, nOut_l]
    }
    const count = h.length;
    let loss = 0;
    const dOut = new Float64Array(count);
    for (let e = 0; e < count; e++) {
      const r = h[e] - this.y[e];
      loss += r * r;
      dOut[e] = 2 * r / count;
    }
    const grad = new Float64Array(this.params.length);
    let g: Float64Array | null = dOut;
    for (let l = this.plans.length - 1; l >= 0; l--) {
      g = layerBackward(this.plans[l], this.params, caches[l], g!, this.n, grad, l > 0);
    }
    loss /= count;
    if (this.curvature > 0) loss += this.curvaturePenalty(grad);
    return {loss, grad};
  }

  /** Adds the curvature penalty's gradient to `grad`; returns the penalty. */
  private curvaturePenalty(grad: Float64Array): number {
    let penalty = 0;
    const w = this.curvature;
    for (const plan of this.plans) {
      const c = views(plan, this.params).coef, g = views(plan, grad).coef;  // [nIn, nBasis, nOut]
      const {nIn, nBasis, nOut} = plan;
      for (let i = 0; i < nIn; i++) {
        for (let m = 1; m < nBasis - 1; m++) {
          for (let j = 0; j < nOut; j++) {
            const at = (q: number) => (i * nBasis + q) * nOut + j;
            const d = c[at(m - 1)] - 2 * c[at(m)] + c[at(m + 1)];
            penalty += w * d * d;
            g[at(m - 1)] += 2 * w * d;
            g[at(m)] -= 4 * w * d;
            g[at(m + 1)] += 2 * w * d;
          }
        }
      }
    }
    return penalty;
  }
}
