/**
 * The B-spline basis from public tf ops (as pykan's `B_batch`), for backends without a kernel. Comparisons have
 * no gradient in tfjs, so the order-0 indicator is built from `step` (whose gradient is zero); autograd then
 * differentiates the recursion exactly.
 */
import * as tf from '@tensorflow/tfjs';

/** Bases of order `order`: `[batch, nIn, nKnots - 1 - order]`. */
function basisOps(x: tf.Tensor2D, grid: tf.Tensor2D, order: number): tf.Tensor3D {
  const nKnots = grid.shape[1];
  const xe = tf.expandDims(x, 2);  // [batch, nIn, 1]
  const g = (start: number, end: number) => tf.expandDims(tf.slice(grid, [0, start], [-1, end - start]), 0);
  // order 0: indicator of [t_m, t_{m+1})
  // [x >= t] = 1 - step(t - x) (step(0) = 0): indicator of [t_m, t_{m+1}) for increasing knots
  const atLeast = (t: tf.Tensor) => tf.sub(1, tf.step(tf.sub(t, xe), 0));
  let b: tf.Tensor = tf.sub(atLeast(g(0, nKnots - 1)), atLeast(g(1, nKnots)));  // [batch, nIn, nKnots - 1]
  for (let p = 1; p <= order; p++) {
    const n = nKnots - 1 - p;
    const tm = g(0, n), tm1 = g(1, n + 1), tmp = g(p, n + p), tmp1 = g(p + 1, n + p + 1);
    const left = tf.mul(tf.div(tf.sub(xe, tm), tf.sub(tmp, tm)), tf.slice(b, [0, 0, 0], [-1, -1, n]));
    const right = tf.mul(tf.div(tf.sub(tmp1, xe), tf.sub(tmp1, tm1)), tf.slice(b, [0, 0, 1], [-1, -1, n]));
    b = tf.add(left, right);  // [batch, nIn, n]
  }
  return b as tf.Tensor3D;
}

/** dBasis/dx from the bases one order lower: `[batch, nIn, nKnots - 1 - order]`. */
export function bsplineBasisDerivativeComposite(x: tf.Tensor2D, grid: tf.Tensor2D, order: number): tf.Tensor3D {
  return tf.tidy(() => {
    const nKnots = grid.shape[1];
    const n = nKnots - 1 - order;
    const lower = basisOps(x, grid, order - 1);  // [batch, nIn, n + 1]
    const g = (start: number) => tf.expandDims(tf.slice(grid, [0, start], [-1, n]), 0);
    const left = tf.div(tf.slice(lower, [0, 0, 0], [-1, -1, n]), tf.sub(g(order), g(0)));
    const right = tf.div(tf.slice(lower, [0, 0, 1], [-1, -1, n]), tf.sub(g(order + 1), g(1)));
    return tf.mul(tf.sub(left, right), order);
  });
}

/** The basis `[batch, nIn, nKnots - 1 - order]`; tfjs autograd differentiates it in `x` (and in the grid). */
export function bsplineBasisComposite(x: tf.Tensor2D, grid: tf.Tensor2D, order: number): tf.Tensor3D {
  return tf.tidy(() => basisOps(x, grid, order));
}
