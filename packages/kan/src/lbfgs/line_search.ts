/**
 * Strong-Wolfe line search with cubic interpolation (Nocedal & Wright, Alg. 3.5/3.6), as in PyTorch's LBFGS.
 * All arithmetic is float64 on the host.
 */

export interface Evaluation {
  loss: number;
  grad: Float64Array;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), clamped to `bounds`. */
export function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number,
                                 bounds?: [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) :
                              x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    if (Number.isFinite(minPos)) return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

interface Point {
  t: number;
  f: number;
  g: Float64Array;
  gtd: number;
}

/**
 * Finds a step `t` along `d` from the point (loss `f`, gradient `g`) satisfying the strong Wolfe conditions.
 * `evaluate(t)` returns loss and gradient at `x + t d`.
 */
export async function strongWolfe(evaluate: (t: number) => Promise<Evaluation>, d: Float64Array, t: number, f: number,
                                  g: Float64Array, gtd: number,
                                  {c1 = 1e-4, c2 = 0.9, toleranceChange = 1e-9, maxLs = 25} = {}):
    Promise<{loss: number; grad: Float64Array; t: number; evals: number}> {
  let dNorm = 0;
  for (let i = 0; i < d.length; i++) dNorm = Math.max(dNorm, Math.abs(d[i]));
  let evals = 1;
  let cur = await evaluate(t);
  let gtdNew = dot(cur.grad, d);
  let prev: Point = {t: 0, f, g, gtd};
  let bracket: Point[] = [];
  let done = false;
  let lsIter = 0;
  // bracketing phase
  while (lsIter < maxLs) {
    const now: Point = {t, f: cur.loss, g: cur.grad, gtd: gtdNew};
    if (cur.loss > f + c1 * t * gtd || (lsIter > 1 && cur.loss >= prev.f)) {
      bracket = [prev, now];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      bracket = [now];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      bracket = [prev, now];
      break;
    }
    const tNext = cubicInterpolate(prev.t, prev.f, prev.gtd, t, cur.loss, gtdNew, [t + 0.01 * (t - prev.t), t * 10]);
    prev = now;
    t = tNext;
    cur = await evaluate(t);
    evals++;
    gtdNew = dot(cur.grad, d);
    lsIter++;
  }
  if (lsIter === maxLs) bracket = [{t: 0, f, g, gtd}, {t, f: cur.loss, g: cur.grad, gtd: gtdNew}];

  // zoom phase
  let insufficientProgress = false;
  let [low, high] = bracket.length > 1 && bracket[0].f > bracket[1].f ? [1, 0] : [0, 1];
  while (!done && lsIter < maxLs && bracket.length > 1) {
    const [b0, b1] = bracket;
    if (Math.abs(b1.t - b0.t) * dNorm < toleranceChange) break;
    t = cubicInterpolate(b0.t, b0.f, b0.gtd, b1.t, b1.f, b1.gtd);
    const bMax = Math.max(b0.t, b1.t), bMin = Math.min(b0.t, b1.t);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      // too close to a bracket end: move away unless the previous step already made progress
      if (insufficientProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufficientProgress = false;
      } else {
        insufficientProgress = true;
      }
    } else {
      insufficientProgress = false;
    }
    cur = await evaluate(t);
    evals++;
    gtdNew = dot(cur.grad, d);
    lsIter++;
    const now: Point = {t, f: cur.loss, g: cur.grad, gtd: gtdNew};
    if (cur.loss > f + c1 * t * gtd || cur.loss >= bracket[low].f) {
      bracket[high] = now;
      [low, high] = bracket[0].f <= bracket[1].f ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * (bracket[high].t - bracket[low].t) >= 0) {
        bracket[high] = bracket[low];
      }
      bracket[low] = now;
    }
  }
  const best = bracket.length === 1 ? bracket[0] : bracket[low];
  return {loss: best.f, grad: best.g, t: best.t, evals};
}
