/**
 * Fits `y ≈ a f(b x + c) + d` (pykan's `fit_params`): a zooming grid search over (b, c) where, for each
 * candidate, (a, d) come from linear regression and the score is its R^2.
 */
import type {SymbolicFunction} from './library';

export interface AffineFit {
  a: number;
  b: number;
  c: number;
  d: number;
  r2: number;
}

/** R^2 and (a, d) of the linear regression y ≈ a u + d; NaN r2 if u has non-finite values. */
export function linearFit(u: Float64Array, y: Float64Array): {a: number; d: number; r2: number} {
  const n = u.length;
  let su = 0, sy = 0;
  for (let s = 0; s < n; s++) {
    if (!Number.isFinite(u[s])) return {a: 0, d: 0, r2: NaN};
    su += u[s];
    sy += y[s];
  }
  const mu = su / n, my = sy / n;
  let suu = 0, suy = 0, syy = 0;
  for (let s = 0; s < n; s++) {
    const du = u[s] - mu, dy = y[s] - my;
    suu += du * du;
    suy += du * dy;
    syy += dy * dy;
  }
  if (!(suu > 1e-300) || !(syy > 0)) return {a: 0, d: my, r2: syy > 0 ? 0 : 1};
  const a = suy / suu;
  return {a, d: my - a * mu, r2: (suy * suy) / (suu * syy)};
}

/** Best (a, b, c, d) for one library function on the samples (x, y). */
export function fitAffine(f: SymbolicFunction, x: Float64Array, y: Float64Array,
                          {range = 10, points = 41, zooms = 3} = {}): AffineFit {
  const u = new Float64Array(x.length);
  const score = (b: number, c: number) => {
    for (let s = 0; s < x.length; s++) u[s] = f.fn(b * x[s] + c);
    return linearFit(u, y);
  };
  if (f.name === 'x') {  // affine in x already: b, c are absorbed by a, d
    const {a, d, r2} = score(1, 0);
    return {a, b: 1, c: 0, d, r2};
  }
  let best = {b: 1, c: 0, r2: -Infinity};
  let [bLo, bHi, cLo, cHi] = [-range, range, -range, range];
  for (let zoom = 0; zoom <= zooms; zoom++) {
    const bStep = (bHi - bLo) / (points - 1), cStep = (cHi - cLo) / (points - 1);
    for (let p = 0; p < points; p++) {
      const b = bLo + p * bStep;
      if (Math.abs(b) < 1e-9) continue;
      for (let q = 0; q < points; q++) {
        const c = cLo + q * cStep;
        const r2 = score(b, c).r2;
        if (r2 > best.r2) best = {b, c, r2};
      }
    }
    [bLo, bHi, cLo, cHi] = [best.b - 2 * bStep, best.b + 2 * bStep, best.c - 2 * cStep, best.c + 2 * cStep];
  }
  const {a, d, r2} = score(best.b, best.c);
  return {a, b: best.b, c: best.c, d, r2};
}
