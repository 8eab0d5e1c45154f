/**
 * KANLinear: a Kolmogorov-Arnold layer in efficient-kan's matmul form,
 * `y = silu(x) @ baseWeight + flatten(B(x)) @ flatten(splineCoef * splineScale)`, with `B` the B-spline basis
 * kernel. The grid is a non-trainable weight, so it is saved and restored with the model.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, assertPositiveInt, KERAS_LAYER_KEYS} from '@tfjs-ext/core';
import {bsplineBasis} from '../bspline/op';
import {uniformKnots} from '../bspline/reference';
import {adaptiveKnots, designMatrix, evalCurves, fitCoefficients} from '../grid/host';
import {column, seededRandom} from '../util';

/**
 * Relative weight of the curvature penalty in grid refits: negligible where samples constrain the spline, and it
 * makes spline pieces beyond the samples (grid margin, sparse tails) continue the fitted curve.
 */
const REFIT_CURVATURE = 1e-9;

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface KANLinearArgs extends LayerArgs {
  /** Output features. */
  units: number;
  /** Grid intervals G (default 5). */
  gridSize?: number;
  /** Spline order k (default 3). */
  splineOrder?: number;
  /** Initial grid range (default [-1, 1]). */
  gridRange?: [number, number];
  /** Amplitude of the initial spline noise, divided by G (default 0.1). */
  scaleNoise?: number;
  /** Base weights are uniform in ±scaleBase/sqrt(nIn) (default 1). */
  scaleBase?: number;
  /** Initial spline scale (default 1). */
  scaleSpline?: number;
  /** Blend of uniform vs quantile grid in grid updates (default 0.02). */
  gridEps?: number;
  /** Grid updates put the outer knots this fraction of the sample range beyond the samples (default 0.05). */
  gridMargin?: number;
  /** Seed of the initialisation (default: random). */
  seed?: number;
}

/** The keys of {@link KANLinearArgs} besides the Keras layer ones. */
export const KAN_LINEAR_KEYS = ['units', 'gridSize', 'splineOrder', 'gridRange', 'scaleNoise', 'scaleBase', 'scaleSpline',
  'gridEps', 'gridMargin', 'seed'] as const;

/** Per-feature grid ranges `[lo[i], hi[i]]` (each `[nIn]`). */
export interface FeatureRanges {
  lo: Float64Array;
  hi: Float64Array;
}

/** The layer's weights as float64 host arrays (for grid updates, pruning, symbolic fitting). */
export interface KANLinearHostWeights {
  nIn: number;
  nOut: number;
  nBasis: number;
  order: number;
  baseWeight: Float64Array;   // [nIn, nOut]
  splineCoef: Float64Array;   // [nIn, nBasis, nOut]
  splineScale: Float64Array;  // [nIn, nOut]
  grid: Float64Array;         // [nIn, nKnots]
}

/**
 * The layer's function on explicit tensors: x `[batch, nIn]`, baseWeight `[nIn, nOut]`, splineCoef
 * `[nIn, nB, nOut]`, splineScale `[nIn, nOut]`, grid `[nIn, nB + order + 1]` -> `[batch, nOut]`.
 */
export function kanLinearForward(x: tf.Tensor2D, baseWeight: tf.Tensor2D, splineCoef: tf.Tensor3D,
                                 splineScale: tf.Tensor2D, grid: tf.Tensor2D, order: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, nIn] = x.shape;
    const [, nBasis, nOut] = splineCoef.shape;
    const base = tf.matMul(tf.mul(x, tf.sigmoid(x)), baseWeight);  // [batch, nOut]
    const basis = bsplineBasis(x, grid, order);  // [batch, nIn, nB]
    const w = tf.mul(splineCoef, tf.expandDims(splineScale, 1));  // [nIn, nB, nOut]
    const spline = tf.matMul(tf.reshape(basis, [batch, nIn * nBasis]), tf.reshape(w, [nIn * nBasis, nOut]));
    return tf.add(base, spline) as tf.Tensor2D;  // [batch, nOut]
  });
}

/**
 * A KAN layer with a learnable B-spline function on every edge (biasless).
 *
 * @example
 * ```ts
 * const layer = new KANLinear({units: 4, gridSize: 5, inputShape: [2]});
 * const model = tf.sequential({layers: [layer]});
 * const y = model.predict(tf.randomUniform([8, 2], -1, 1));  // [8, 4]
 * ```
 */
export class KANLinear extends tf.layers.Layer {
  static className = 'KANLinear';
  readonly units: number;
  readonly gridSize: number;
  readonly splineOrder: number;
  readonly gridRange: [number, number];
  readonly scaleNoise: number;
  readonly scaleBase: number;
  readonly scaleSpline: number;
  readonly gridEps: number;
  readonly gridMargin: number;
  readonly seed: number | undefined;
  baseWeight!: tf.LayerVariable;
  splineCoef!: tf.LayerVariable;
  splineScale!: tf.LayerVariable;
  grid!: tf.LayerVariable;

  constructor(args: KANLinearArgs) {
    assertKnownKeys('KANLinear', args, [...KAN_LINEAR_KEYS, ...KERAS_LAYER_KEYS], 'config key');
    super(args);
    assertPositiveInt(args.units, 'KANLinear', 'units');
    this.units = args.units;
    this.gridSize = args.gridSize ?? 5;
    this.splineOrder = args.splineOrder ?? 3;
    assertPositiveInt(this.gridSize, 'KANLinear', 'gridSize');
    assertArg(Number.isInteger(this.splineOrder) && this.splineOrder >= 1, 'KANLinear',
              () => `splineOrder must be an integer >= 1, got ${this.splineOrder}`);
    this.gridRange = args.gridRange ?? [-1, 1];
    assertArg(this.gridRange[1] > this.gridRange[0], 'KANLinear',
              () => `gridRange must be [lo, hi] with lo < hi, got [${this.gridRange}]`);
    this.scaleNoise = args.scaleNoise ?? 0.1;
    this.scaleBase = args.scaleBase ?? 1;
    this.scaleSpline = args.scaleSpline ?? 1;
    this.gridEps = args.gridEps ?? 0.02;
    this.gridMargin = args.gridMargin ?? 0.05;
    this.seed = args.seed;
  }

  get nBasis(): number {
    return this.gridSize + this.splineOrder;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    assertArg(shape.length === 2 && shape[1] != null, 'KANLinear',
              () => `input must have shape [batch, nIn], got [${shape}]`);
    const nIn = shape[1] as number, nOut = this.units, nB = this.nBasis, k = this.splineOrder;
    const zeros = tf.initializers.zeros();
    this.baseWeight = this.addWeight('baseWeight', [nIn, nOut], 'float32', zeros);
    this.splineCoef = this.addWeight('splineCoef', [nIn, nB, nOut], 'float32', zeros);
    this.splineScale = this.addWeight('splineScale', [nIn, nOut], 'float32', zeros);
    this.grid = this.addWeight('grid', [nIn, this.gridSize + 2 * k + 1], 'float32', zeros, undefined, false);

    // Initialisation as efficient-kan / pykan: spline coefficients fit small noise at the grid points.
    const random = seededRandom(this.seed ?? Math.floor(Math.random() * 2 ** 31));
    const knots = uniformKnots(this.gridSize, k, this.gridRange).map(Math.fround);
    const gridPoints = knots.slice(k, k + this.gridSize + 1);
    const coef = new Float32Array(nIn * nB * nOut);
    for (let i = 0; i < nIn; i++) {
      const noise = Float64Array.from({length: gridPoints.length * nOut},
                                      () => (random() - 0.5) * this.scaleNoise / this.gridSize);
      coef.set(fitCoefficients(gridPoints, noise, nOut, knots, k, 1e-6), i * nB * nOut);
    }
    const bound = this.scaleBase / Math.sqrt(nIn);
    const base = Float32Array.from({length: nIn * nOut}, () => (2 * random() - 1) * bound);
    const grid = new Float32Array(nIn * knots.length);
    for (let i = 0; i < nIn; i++) grid.set(knots, i * knots.length);
    tf.tidy(() => {
      this.baseWeight.write(tf.tensor(base, [nIn, nOut]));
      this.splineCoef.write(tf.tensor(coef, [nIn, nB, nOut]));
      this.splineScale.write(tf.fill([nIn, nOut], this.scaleSpline));
      this.grid.write(tf.tensor(grid, [nIn, knots.length]));
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
    return kanLinearForward(x, this.baseWeight.read() as tf.Tensor2D, this.splineCoef.read() as tf.Tensor3D,
                            this.splineScale.read() as tf.Tensor2D, this.grid.read() as tf.Tensor2D, this.splineOrder);
  }

  /** Per-edge activations `phi_ji(x_i)`: `[batch, nIn, nOut]` (sums over `nIn` to the layer's output). */
  edgeActivations(x: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const silu = tf.mul(x, tf.sigmoid(x));
      const base = tf.mul(tf.expandDims(silu, 2), tf.expandDims(this.baseWeight.read(), 0));  // [batch, nIn, nOut]
      const basis = bsplineBasis(x, this.grid.read() as tf.Tensor2D, this.splineOrder);  // [batch, nIn, nB]
      const w = tf.mul(this.splineCoef.read(), tf.expandDims(this.splineScale.read(), 1));  // [nIn, nB, nOut]
      const spline = tf.transpose(tf.matMul(tf.transpose(basis, [1, 0, 2]), w), [1, 0, 2]);  // [batch, nIn, nOut]
      return tf.add(base, spline) as tf.Tensor3D;
    });
  }

  /**
   * Bounds of each output over the box spanned by the samples `x` `[n, nIn]`: output j is a sum of univariate
   * edge functions, so over that box it lies in `[sum_i min_s phi_ji(x_si), sum_i max_s phi_ji(x_si)]` (up to the
   * edge functions' extrema between samples). Tighter than needed for one sample set, it covers the combinations
   * of feature values the samples do not show together.
   */
  async outputBounds(x: tf.Tensor2D): Promise<FeatureRanges> {
    const acts = this.edgeActivations(x);  // [n, nIn, nOut]
    const [lo, hi] = tf.tidy(() => [tf.sum(tf.min(acts, 0), 0), tf.sum(tf.max(acts, 0), 0)]);  // [nOut] each
    const bounds = {lo: Float64Array.from(await lo.data()), hi: Float64Array.from(await hi.data())};
    tf.dispose([acts, lo, hi]);
    return bounds;
  }

  /** Reads the weights to float64 host arrays. */
  async hostWeights(): Promise<KANLinearHostWeights> {
    const read = async (v: tf.LayerVariable) => Float64Array.from(await v.read().data() as Float32Array);
    const [nIn, nOut] = this.baseWeight.shape as number[];
    return {nIn, nOut, nBasis: this.nBasis, order: this.splineOrder, baseWeight: await read(this.baseWeight),
            splineCoef: await read(this.splineCoef), splineScale: await read(this.splineScale),
            grid: await read(this.grid)};
  }

  /**
   * Spline coefficients and knots for a new grid of `newGridSize` intervals fitted to this layer's splines on the
   * samples `x` `[n, nIn]` (the layer's inputs): per feature, adaptive knots from the samples, then a least-squares
   * refit of the current spline curves. Shared by {@link updateGrid} and model refinement. `ranges`, when given,
   * widens each feature's grid range to `[ranges.lo[i], ranges.hi[i]]`.
   */
  async regrid(x: tf.Tensor2D, newGridSize = this.gridSize, ranges?: FeatureRanges):
      Promise<{coef: Float32Array; grid: Float32Array; nKnots: number}> {
    const w = await this.hostWeights();
    const [n] = x.shape;
    const xs = await x.data();
    const k = this.splineOrder, nOut = w.nOut, nKnotsOld = w.grid.length / w.nIn;
    const nKnots = newGridSize + 2 * k + 1, nBNew = newGridSize + k;
    const coef = new Float32Array(w.nIn * nBNew * nOut);
    const grid = new Float32Array(w.nIn * nKnots);
    for (let i = 0; i < w.nIn; i++) {
      const xi = column(xs, n, w.nIn, i);
      const oldKnots = w.grid.subarray(i * nKnotsOld, (i + 1) * nKnotsOld);
      const curves = evalCurves(designMatrix(xi, oldKnots, k), n, w.nBasis,
                                w.splineCoef.subarray(i * w.nBasis * nOut, (i + 1) * w.nBasis * nOut), nOut);
      const range: [number, number] | undefined = ranges ? [ranges.lo[i], ranges.hi[i]] : undefined;
      const knots = adaptiveKnots(xi, newGridSize, k, this.gridEps, this.gridMargin, range).map(Math.fround);
      grid.set(knots, i * nKnots);
      coef.set(fitCoefficients(xi, curves, nOut, knots, k, 1e-10, REFIT_CURVATURE), i * nBNew * nOut);
    }
    return {coef, grid, nKnots};
  }

  /**
   * Moves the grid to the samples `x` `[n, nIn]` (this layer's inputs) and refits the coefficients so the
   * layer's outputs on `x` are preserved (least squares).
   */
  async updateGrid(x: tf.Tensor2D, ranges?: FeatureRanges): Promise<void> {
    const {coef, grid, nKnots} = await this.regrid(x, this.gridSize, ranges);
    const nIn = x.shape[1];
    tf.tidy(() => {
      this.splineCoef.write(tf.tensor(coef, [nIn, this.nBasis, this.units]));
      this.grid.write(tf.tensor(grid, [nIn, nKnots]));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      units: this.units, gridSize: this.gridSize, splineOrder: this.splineOrder, gridRange: this.gridRange,
      scaleNoise: this.scaleNoise, scaleBase: this.scaleBase, scaleSpline: this.scaleSpline, gridEps: this.gridEps,
      gridMargin: this.gridMargin,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return {...config, ...super.getConfig()};
  }
}
tf.serialization.registerClass(KANLinear);
