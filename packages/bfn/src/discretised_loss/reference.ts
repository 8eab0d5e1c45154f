/**
 * Float64 oracle of `bfnDiscretisedLoss`, read against the spec's discretised column: the discretised normal
 * N(muX, sigmaX) over K bins of [-1, 1] (bin probabilities from CDF differences at the K - 1 interior
 * boundaries -1 + 2k/K, the first bin taking the left tail and the last the right), kHat its mean over the bin
 * centres (2k + 1)/K - 1, L = -ln(sigma1) sigma1^(-2t) sum_d (x - kHat)^2. Uses its own erf (reference_math).
 */
import {normalCdf64} from '../shared/reference_math';

export interface DiscretisedReferenceOptions {
  sigma1: number;
  numBins: number;
  tMin?: number;
  minStd?: number;
  maxStd?: number;
}

/** Bin probabilities `[numBins]` of N(mean, std) discretised on [-1, 1] (float64). */
export function discretisedNormalProbs(mean: number, std: number, numBins: number): Float64Array {
  const cdf = new Float64Array(numBins + 1);
  cdf[0] = 0;
  cdf[numBins] = 1;
  for (let k = 1; k < numBins; k++) cdf[k] = normalCdf64((-1 + 2 * k / numBins - mean) / std);
  const p = new Float64Array(numBins);
  for (let k = 0; k < numBins; k++) p[k] = cdf[k + 1] - cdf[k];
  return p;
}

/** The output distribution's parameters (muX, sigmaX) per element, `[batch * dim]` each. */
export function discretisedOutputParams(mu: Float64Array, muEps: Float64Array, lnSigmaEps: Float64Array,
                                        t: Float64Array, o: DiscretisedReferenceOptions) {
  const {sigma1, tMin = 1e-6, minStd = 1e-3, maxStd = 10} = o;
  const batch = t.length, dim = mu.length / batch;
  const muX = new Float64Array(mu.length), sigmaX = new Float64Array(mu.length);
  for (let b = 0; b < batch; b++) {
    const tc = Math.max(t[b], tMin);
    const postVar = Math.pow(sigma1, 2 * tc);
    const gamma = -Math.expm1(2 * tc * Math.log(sigma1));
    const scale = Math.sqrt(postVar / gamma);
    for (let d = 0; d < dim; d++) {
      const i = b * dim + d;
      if (t[b] < tMin) {
        muX[i] = 0;
        sigmaX[i] = 1;
        continue;
      }
      muX[i] = mu[i] / gamma - scale * muEps[i];
      const s = scale * Math.exp(Math.min(10, Math.max(-10, lnSigmaEps[i])));
      sigmaX[i] = Math.min(maxStd, Math.max(minStd, s));
    }
  }
  return {muX, sigmaX};
}

export function discretisedLossReference(x: Float64Array, mu: Float64Array, muEps: Float64Array,
                                         lnSigmaEps: Float64Array, t: Float64Array,
                                         o: DiscretisedReferenceOptions): Float64Array {
  const {sigma1, numBins} = o;
  const batch = t.length, dim = x.length / batch;
  const {muX, sigmaX} = discretisedOutputParams(mu, muEps, lnSigmaEps, t, o);
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let d = 0; d < dim; d++) {
      const i = b * dim + d;
      const p = discretisedNormalProbs(muX[i], sigmaX[i], numBins);
      let kHat = 0;
      for (let k = 0; k < numBins; k++) kHat += p[k] * ((2 * k + 1) / numBins - 1);
      sum += (x[i] - kHat) ** 2;
    }
    out[b] = -Math.log(sigma1) * Math.pow(sigma1, -2 * t[b]) * sum;
  }
  return out;
}
