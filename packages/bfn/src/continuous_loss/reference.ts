/**
 * Float64 oracle of `bfnContinuousLoss`, read against the spec's continuous-time row:
 * L = -ln(sigma1) sigma1^(-2t) sum_d (x - xHat)^2, gamma = 1 - sigma1^(2t),
 * xHat = clip(mu / gamma - sqrt((1 - gamma) / gamma) epsHat, -1, 1), xHat = 0 where t < tMin
 * (gamma, like the reference code, from max(t, tMin)).
 */
export function continuousLossReference(x: Float64Array, mu: Float64Array, epsHat: Float64Array, t: Float64Array,
                                        sigma1: number, tMin = 1e-6): Float64Array {
  const batch = t.length, dim = x.length / batch;
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    const tc = Math.max(t[b], tMin);
    const postVar = Math.pow(sigma1, 2 * tc);
    const gamma = -Math.expm1(2 * tc * Math.log(sigma1));  // 1 - sigma1^(2t) without cancellation
    let sum = 0;
    for (let d = 0; d < dim; d++) {
      const i = b * dim + d;
      let xHat = mu[i] / gamma - Math.sqrt(postVar / gamma) * epsHat[i];
      xHat = Math.min(1, Math.max(-1, xHat));
      if (t[b] < tMin) xHat = 0;
      sum += (x[i] - xHat) ** 2;
    }
    out[b] = -Math.log(sigma1) * Math.pow(sigma1, -2 * t[b]) * sum;
  }
  return out;
}
