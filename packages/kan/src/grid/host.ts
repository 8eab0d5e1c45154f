/**
 * Host-side (float64) spline helpers behind grid updates and refinement: evaluate a layer's spline curves,
 * build an adaptive grid from samples, and refit coefficients by least squares (pykan's `coef2curve`,
 * `curve2coef`, `update_grid_from_samples`).
 */
import {basisRow} from '../bspline/host';
import {lstsq} from './lstsq';

/** Basis design matrix `[n, G + k]` of samples `xs` on one feature's `knots`. */
export function designMatrix(xs: ArrayLike<number>, knots: Float64Array | Float32Array, order: number): Float64Array {
  const nKnots = knots.length, nBasis = nKnots - 1 - order;
  const a = new Float64Array(xs.length * nBasis);
  const scratch = new Float64Array(nKnots);
  for (let s = 0; s < xs.length; s++) {
    basisRow(xs[s], knots, 0, nKnots, order, scratch);
    a.set(scratch.subarray(0, nBasis), s * nBasis);
  }
  return a;
}

/** Curves `[n, nOut]` = design `[n, nB]` @ coef `[nB, nOut]`. */
export function evalCurves(design: Float64Array, n: number, nBasis: number, coef: ArrayLike<number>,
                           nOut: number): Float64Array {
  const y = new Float64Array(n * nOut);
  for (let s = 0; s < n; s++) {
    for (let m = 0; m < nBasis; m++) {
      const b = design[s * nBasis + m];
      if (b === 0) continue;
      for (let j = 0; j < nOut; j++) y[s * nOut + j] += b * coef[m * nOut + j];
    }
  }
  return y;
}

/**
 * Coefficients `[nB, nOut]` whose splines on `knots` best fit `y` `[n, nOut]` at `xs` (least squares, with a tiny
 * curvature penalty so that coefficients without samples continue the fitted ones: see {@link lstsq}).
 */
export function fitCoefficients(xs: ArrayLike<number>, y: Float64Array, nOut: number,
                                knots: Float64Array | Float32Array, order: number, ridge = 1e-10,
                                curvature = 0): Float64Array {
  const nBasis = knots.length - 1 - order;
  return lstsq(designMatrix(xs, knots, order), xs.length, nBasis, y, nOut, ridge, curvature);
}

/** Extends `G + 1` knots by `order` knots on each side with the mean spacing (pykan's `extend_grid`). */
export function extendKnots(inner: Float64Array, order: number): Float64Array {
  const g = inner.length - 1;
  const h = (inner[g] - inner[0]) / g;
  const out = new Float64Array(g + 1 + 2 * order);
  for (let m = 0; m < order; m++) {
    out[m] = inner[0] - (order - m) * h;
    out[order + g + 1 + m] = inner[g] + (m + 1) * h;
  }
  out.set(inner, order);
  return out;
}

/**
 * The knots pykan fits to samples of one feature: `G + 1` sample quantiles blended with a uniform grid
 * (`gridEps * uniform + (1 - gridEps) * adaptive`), extended by `order` on each side. The outer knots sit
 * `margin * (max - min)` beyond the samples: new inputs slightly outside the training range then stay in the
 * fitted end pieces instead of the next spline piece, whose highest coefficient the samples barely constrain.
 * `range`, when given, widens `[min, max]` to cover it (see `updateGrid`'s `hiddenRange: 'edgeBounds'`).
 */
export function adaptiveKnots(xs: ArrayLike<number>, gridSize: number, order: number, gridEps: number,
                              margin = 0, range?: [number, number]): Float64Array {
  const sorted = Float64Array.from(xs).sort();
  const n = sorted.length;
  // an explicit range may only widen the samples' (the quantiles below assume every sample inside)
  let lo = Math.min(sorted[0], range?.[0] ?? Infinity), hi = Math.max(sorted[n - 1], range?.[1] ?? -Infinity);
  if (!(hi > lo)) hi = lo + 1e-3;  // constant feature: any small interval
  const pad = margin * (hi - lo);
  lo -= pad;
  hi += pad;
  const inner = new Float64Array(gridSize + 1);
  for (let g = 0; g <= gridSize; g++) {
    const adaptive = g === 0 ? lo : g === gridSize ? hi : sorted[Math.floor((n / gridSize) * g)];
    const uniform = lo + (hi - lo) * g / gridSize;
    inner[g] = gridEps * uniform + (1 - gridEps) * adaptive;
  }
  // strictly increasing (repeated samples would give empty intervals)
  const minGap = (hi - lo) * 1e-4 / gridSize;
  for (let g = 1; g <= gridSize; g++) if (inner[g] < inner[g - 1] + minGap) inner[g] = inner[g - 1] + minGap;
  // the largest sample must stay inside the half-open last interval
  if (margin === 0) inner[gridSize] += (hi - lo) * 1e-6;
  return extendKnots(inner, order);
}
