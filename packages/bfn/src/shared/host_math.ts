/**
 * Scalar maths the host kernels (cpu, wasm) share. Written for float32 accuracy; evaluated in JS doubles.
 * The float64 references do not use this file (they have their own in `reference_math.ts`).
 */

/**
 * The upper normal tail over the density's exponential: Q(z) / exp(-z^2/2) for z >= 0, so that
 * Q(z) = exp(-z^2/2) tailRatio(z) (Hart 1968, as in West 2005, "Better approximations to cumulative normal
 * functions": a degree 6/7 rational below 7.07, a continued fraction beyond). Relative error below 1e-8 for all
 * z >= 0 (checked against the float64 oracle in host_math.test.ts), so Q keeps float32 accuracy however far in the
 * tail; and callers that step z evenly can produce exp(-z^2/2) by a recurrence (two products) instead of `exp`.
 */
export function tailRatio(z: number): number {
  if (z < 7.07106781186547) {
    const p = (((((0.0352624965998911 * z + 0.700383064443688) * z + 6.37396220353165) * z + 33.912866078383) * z +
        112.079291497871) * z + 221.213596169931) * z + 220.206867912376;
    const q = ((((((0.0883883476483184 * z + 1.75566716318264) * z + 16.064177579207) * z + 86.7807322029461) * z +
        296.564248779674) * z + 637.333633378831) * z + 793.826512519948) * z + 440.413735824752;
    return p / q;
  }
  return 1 / (z + 1 / (z + 2 / (z + 3 / (z + 4 / (z + 0.65))))) / 2.506628274631;
}

/** Upper tail of the standard normal, Q(z) = 1 - Phi(z), accurate to float32 in both tails. */
export function normalUpperTail(z: number): number {
  const e = Math.exp(-0.5 * z * z) * tailRatio(Math.abs(z));
  return z >= 0 ? e : 1 - e;
}

/**
 * The per-example factors of the continuous/discretised parametrisation at time t (reference code's
 * `noise_pred_params_to_data_pred_params`): gamma = 1 - sigma1^(2 max(t, tMin)) by expm1 (no cancellation
 * near t = 0), B = sqrt((1 - gamma) / gamma), the loss weight -ln(sigma1) sigma1^(-2t), and whether t < tMin.
 */
export function timeFactors(t: number, lnSigma1: number, tMin: number):
    {gamma: number; b: number; weight: number; masked: boolean} {
  const tc = Math.max(t, tMin);
  const gamma = -Math.expm1(2 * tc * lnSigma1);
  const b = Math.sqrt(Math.exp(2 * tc * lnSigma1) / gamma);
  const weight = -lnSigma1 * Math.exp(-2 * t * lnSigma1);
  return {gamma, b, weight, masked: t < tMin};
}
