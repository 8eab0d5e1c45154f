/** The squashed Gaussian policy of SAC (SB3's SquashedDiagGaussianDistribution). */
import * as tf from '@tensorflow/tfjs';

export const LOG_STD_MIN = -20;
export const LOG_STD_MAX = 2;
/** Added inside the log of the tanh correction, as SB3. */
export const TANH_EPSILON = 1e-6;
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Reparameterised sample and log-probability: `logStd` clamped to [-20, 2], `u = mu + exp(logStd) * eps`,
 * `a = tanh(u)`, `log pi(a|s) = sum_i [log N(u_i; mu_i, sigma_i) - log(1 - a_i^2 + 1e-6)]`.
 * `log N(u; mu, sigma) = -eps^2 / 2 - log sigma - log(2 pi) / 2` since `(u - mu) / sigma = eps` (same value and
 * gradient as evaluating the density at `u`, fewer ops). Differentiable in `mu` and `logStd`.
 *
 * @param mu `[B, A]`
 * @param logStd `[B, A]` (unclamped)
 * @param eps `[B, A]` standard normal noise
 * @returns `action` `[B, A]` in [-1, 1] and `logProb` `[B, 1]`
 *
 * @example
 * ```ts
 * const {action, logProb} = squashedGaussian(mu, logStd, tf.randomNormal(mu.shape));
 * ```
 */
export function squashedGaussian(mu: tf.Tensor2D, logStd: tf.Tensor2D, eps: tf.Tensor2D):
    {action: tf.Tensor2D; logProb: tf.Tensor2D} {
  return tf.tidy(() => {
    const clamped = tf.clipByValue(logStd, LOG_STD_MIN, LOG_STD_MAX);
    const u = tf.add(mu, tf.mul(tf.exp(clamped), eps));
    const action = tf.tanh(u) as tf.Tensor2D;
    // -eps^2/2 - log(1 - a^2 + 1e-6) - logStd, summed over the action dims, minus A * log(2 pi)/2
    const correction = tf.log(tf.add(tf.sub(1, tf.square(action)), TANH_EPSILON));
    const perDim = tf.sub(tf.sub(tf.mul(-0.5, tf.square(eps)), correction), clamped);  // [B, A]
    const logProb = tf.sub(tf.sum(perDim, 1, true), mu.shape[1] * HALF_LOG_2PI) as tf.Tensor2D;
    return {action, logProb};
  });
}
