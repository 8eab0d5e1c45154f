/**
 * Tensor maths the composites share (public tf ops only, no infinities or huge constants: WebGL-safe).
 */
import * as tf from '@tensorflow/tfjs';

/**
 * `x` with a zero gradient (tfjs has no stopGradient): the composites pass data, flow sample and t through it,
 * so, as on the kernel path, only the network outputs receive a gradient (and comparisons on t, which have no
 * gradient in tfjs, are never reached by backprop).
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((v: tf.Tensor) => ({value: tf.add(v, 0), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy)})) as
                          unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}

/** erfc(x) elementwise with relative error < 1.2e-7 (Numerical Recipes' erfcc, as the WGSL kernels). */
export function erfcOps(x: tf.Tensor): tf.Tensor {
  // |x| by the same branch as the result below: tf.abs's gradient at 0 is -1, which would flip the slope
  // at x = 0 exactly (a boundary that coincides with the mean).
  const nonNegative = tf.greaterEqual(x, 0);
  const z = tf.where(nonNegative, x, tf.neg(x));
  const t = tf.div(1, tf.add(1, tf.mul(0.5, z)));
  const coeffs = [-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
                  1.00002368];
  let poly: tf.Tensor = tf.mul(t, 0.17087277);
  for (const c of coeffs) poly = tf.mul(t, tf.add(poly, c));
  const r = tf.mul(t, tf.exp(tf.add(tf.sub(tf.neg(tf.square(z)), 1.26551223), poly)));
  return tf.where(nonNegative, r, tf.sub(2, r));
}

/** Q(z) = 1 - Phi(z), accurate in the upper tail. */
export function normalUpperTailOps(z: tf.Tensor): tf.Tensor {
  return tf.mul(0.5, erfcOps(tf.mul(z, Math.SQRT1_2)));
}

/**
 * Per-example time factors `[batch, 1]` from t `[batch]` (see `timeFactors` in host_math.ts): gamma by a
 * cancellation-free expm1 (series for small arguments), B = sqrt((1 - gamma) / gamma), the loss weight
 * -ln(sigma1) sigma1^(-2t), and the mask t < tMin as float (1 where masked). Computed inside one
 * zero-gradient node: t is not on the gradient path, and tfjs would otherwise need gradients of the
 * comparisons (Less) on the way back to t.
 */
export function timeFactorOps(t: tf.Tensor, sigma1: number, tMin: number):
    {b: tf.Tensor; invGamma: tf.Tensor; weight: tf.Tensor; masked: tf.Tensor} {
  const lnSigma1 = Math.log(sigma1);
  const compute = (tIn: tf.Tensor) => {
    const tb = tf.reshape(tIn, [-1, 1]);  // [batch, 1]
    const a = tf.mul(tf.maximum(tb, tMin), 2 * lnSigma1);  // 2 t ln sigma1 <= 0
    const series = tf.mul(a, tf.add(1, tf.mul(tf.div(a, 2), tf.add(1, tf.div(a, 3)))));  // expm1, |a| < 1e-3
    const expm1 = tf.where(tf.less(tf.abs(a), 1e-3), series, tf.sub(tf.exp(a), 1));
    const invGamma = tf.div(1, tf.neg(expm1));
    const b = tf.sqrt(tf.mul(tf.exp(a), invGamma));
    const weight = tf.mul(-lnSigma1, tf.exp(tf.mul(tb, -2 * lnSigma1)));
    const masked = tf.cast(tf.less(tb, tMin), 'float32');
    return tf.concat([b, invGamma, weight, masked], 1);  // [batch, 4]
  };
  // The zero gradient is built from t's shape, not from t itself: by the time tfjs runs the backward pass the
  // input may be disposed (tfjs-node's zerosLike reads its data and fails then).
  const packed = tf.customGrad(((tIn: tf.Tensor) => ({value: compute(tIn), gradFunc: () => tf.zeros(tIn.shape)})) as
                               unknown as Parameters<typeof tf.customGrad>[0])(t) as tf.Tensor;
  const [b, invGamma, weight, masked] = tf.split(packed, 4, 1);
  return {b, invGamma, weight, masked};
}
