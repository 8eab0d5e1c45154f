/** Float64 oracle of a KAN layer: y_j = sum_i baseWeight_ij silu(x_i) + splineScale_ij sum_m coef_imj B_m(x_i). */
import {coxDeBoor} from '../bspline/reference';

export function kanLinearReference(x: Float64Array, baseWeight: Float64Array, coef: Float64Array,
                                   splineScale: Float64Array, grid: Float64Array, batch: number, nIn: number,
                                   nOut: number, order: number): Float64Array {
  const nKnots = grid.length / nIn, nBasis = nKnots - 1 - order;
  const y = new Float64Array(batch * nOut);  // [batch, nOut]
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < nIn; i++) {
      const xv = x[b * nIn + i];
      const silu = xv / (1 + Math.exp(-xv));
      const knots = grid.subarray(i * nKnots, (i + 1) * nKnots);
      const basis = Array.from({length: nBasis}, (_, m) => coxDeBoor(xv, knots, m, order));
      for (let j = 0; j < nOut; j++) {
        let spline = 0;
        for (let m = 0; m < nBasis; m++) spline += coef[(i * nBasis + m) * nOut + j] * basis[m];
        y[b * nOut + j] += baseWeight[i * nOut + j] * silu + splineScale[i * nOut + j] * spline;
      }
    }
  }
  return y;
}
