/**
 * Float64 oracle of the B-spline basis, written to be read against the spec (Cox-de Boor recursion).
 *
 * Layouts: x `[batch, nIn]`, grid `[nIn, nKnots]` (per-feature knots, `nKnots = G + 2k + 1`),
 * basis `[batch, nIn, nKnots - 1 - k]` (= `G + k` functions per feature).
 */

/** B_{m,p}(x) on `knots` (Cox-de Boor). Order 0 is the indicator of `[knots[m], knots[m + 1])`. */
export function coxDeBoor(x: number, knots: ArrayLike<number>, m: number, p: number): number {
  if (p === 0) return x >= knots[m] && x < knots[m + 1] ? 1 : 0;
  const left = (x - knots[m]) / (knots[m + p] - knots[m]);
  const right = (knots[m + p + 1] - x) / (knots[m + p + 1] - knots[m + 1]);
  return left * coxDeBoor(x, knots, m, p - 1) + right * coxDeBoor(x, knots, m + 1, p - 1);
}

/** dB_{m,p}/dx = p * (B_{m,p-1} / (t_{m+p} - t_m) - B_{m+1,p-1} / (t_{m+p+1} - t_{m+1})). */
export function coxDeBoorDerivative(x: number, knots: ArrayLike<number>, m: number, p: number): number {
  if (p === 0) return 0;
  return p * (coxDeBoor(x, knots, m, p - 1) / (knots[m + p] - knots[m]) -
              coxDeBoor(x, knots, m + 1, p - 1) / (knots[m + p + 1] - knots[m + 1]));
}

function basisTable(x: Float64Array, grid: Float64Array, batch: number, nIn: number, nKnots: number, order: number,
                    fn: typeof coxDeBoor): Float64Array {
  const nBasis = nKnots - 1 - order;
  const out = new Float64Array(batch * nIn * nBasis);  // [batch, nIn, nBasis]
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < nIn; i++) {
      const knots = grid.subarray(i * nKnots, (i + 1) * nKnots);
      for (let m = 0; m < nBasis; m++) out[(b * nIn + i) * nBasis + m] = fn(x[b * nIn + i], knots, m, order);
    }
  }
  return out;
}

/** The basis `[batch, nIn, nKnots - 1 - order]` in float64. */
export function bsplineBasisReference(x: Float64Array, grid: Float64Array, batch: number, nIn: number,
                                      nKnots: number, order: number): Float64Array {
  return basisTable(x, grid, batch, nIn, nKnots, order, coxDeBoor);
}

/** dBasis/dx `[batch, nIn, nKnots - 1 - order]` in float64. */
export function bsplineBasisDerivativeReference(x: Float64Array, grid: Float64Array, batch: number, nIn: number,
                                                nKnots: number, order: number): Float64Array {
  return basisTable(x, grid, batch, nIn, nKnots, order, coxDeBoorDerivative);
}

/** A uniform grid over `range` with `gridSize` intervals, extended by `order` knots on each side. */
export function uniformKnots(gridSize: number, order: number, range: [number, number] = [-1, 1]): Float64Array {
  const h = (range[1] - range[0]) / gridSize;
  const knots = new Float64Array(gridSize + 2 * order + 1);
  for (let m = 0; m < knots.length; m++) knots[m] = range[0] + (m - order) * h;
  return knots;
}
