/**
 * Scalar maths the host kernels (cpu, wasm) share. Written for float32 accuracy; evaluated in JS doubles.
 * The float64 references do not use this file (they have their own in `reference_math.ts`).
 */

/**
 * erfc(x) with relative error below 1.2e-7 for every x (Numerical Recipes' Chebyshev fit, `erfcc`): accurate to
 * float32 in both tails, where `1 - erf(x)` would cancel. The same formula runs in WGSL and in the composites.
 */
export function erfcApprox(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
      t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** Upper tail of the standard normal, Q(z) = 1 - Phi(z) = erfc(z / sqrt 2) / 2 (accurate for large z). */
export function normalUpperTail(z: number): number {
  return 0.5 * erfcApprox(z * Math.SQRT1_2);
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
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
