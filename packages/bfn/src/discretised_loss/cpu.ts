/**
 * Host kernels (cpu, wasm) of `bfnDiscretisedLoss` over `[batch, dim]` rows.
 *
 * The mean of the discretised normal is computed without CDF differences: with bin centres c_k = c_0 + k w
 * (w = 2/K), sum_k p_k c_k = c_0 + w sum_{j=1}^{K-1} P(bin >= j) = c_0 + w sum_j Q(z_j), z_j = (b_j - muX) / sigmaX,
 * Q the upper normal tail. Each term is then accurate to float32 however far in a tail it lies (no 1 - 1
 * cancellation), and the derivatives are sums of normal densities:
 * d kHat / d muX = w sum_j phi(z_j) / sigmaX, d kHat / d sigmaX = w sum_j phi(z_j) z_j / sigmaX.
 */
import {hostKernels, HostTensor} from '@tfjs-ext/core';
import {normalPdf, normalUpperTail, timeFactors} from '../shared/host_math';

export interface DiscretisedAttrs {
  sigma1: number;
  numBins: number;
  tMin: number;
  minStd: number;
  maxStd: number;
}

/** Per-element output parameters; `sigmaLive` = whether neither clamp on sigmaX is active (gradient passes). */
export function outputParams(mu: number, muEps: number, lnSigmaEps: number, invGamma: number, scale: number,
                             {minStd, maxStd}: DiscretisedAttrs) {
  const muX = mu * invGamma - scale * muEps;
  const lnClamped = Math.min(10, Math.max(-10, lnSigmaEps));
  const raw = scale * Math.exp(lnClamped);
  const sigmaX = Math.min(maxStd, Math.max(minStd, raw));
  const sigmaLive = lnSigmaEps >= -10 && lnSigmaEps <= 10 && raw >= minStd && raw <= maxStd;
  return {muX, sigmaX, sigmaLive};
}

/** kHat and, when `withDerivatives`, d kHat/d muX and d kHat/d sigmaX, into `out[0..2]`. */
export function discretisedMean(muX: number, sigmaX: number, numBins: number, withDerivatives: boolean,
                                out: Float64Array): void {
  const w = 2 / numBins;
  let tails = 0, dens = 0, densZ = 0;
  for (let j = 1; j < numBins; j++) {
    const z = (-1 + j * w - muX) / sigmaX;
    tails += normalUpperTail(z);
    if (withDerivatives) {
      const phi = normalPdf(z);
      dens += phi;
      densZ += phi * z;
    }
  }
  out[0] = -1 + w / 2 + w * tails;
  out[1] = w * dens / sigmaX;
  out[2] = w * densZ / sigmaX;
}

export const discretisedLossHostKernels = hostKernels<DiscretisedAttrs>(
    ({x, mu, muEps, lnSigmaEps, t}: Record<string, HostTensor>, attrs) => {
      const [batch, dim] = x.shape;
      const lnSigma1 = Math.log(attrs.sigma1);
      const out = new Float32Array(batch);
      const mean = new Float64Array(3);
      for (let b = 0; b < batch; b++) {
        const {gamma, b: scale, weight, masked} = timeFactors(t.values[b], lnSigma1, attrs.tMin);
        const invGamma = 1 / gamma;
        let sum = 0;
        for (let i = b * dim; i < (b + 1) * dim; i++) {
          if (masked) {
            discretisedMean(0, 1, attrs.numBins, false, mean);
          } else {
            const p = outputParams(mu.values[i], muEps.values[i], lnSigmaEps.values[i], invGamma, scale, attrs);
            discretisedMean(p.muX, p.sigmaX, attrs.numBins, false, mean);
          }
          const diff = x.values[i] - mean[0];
          sum += diff * diff;
        }
        out[b] = weight * sum;
      }
      return [{shape: [batch], values: out}];
    });

/** [dL/d muEps, dL/d lnSigmaEps], each `[batch, dim]`, from dy `[batch]`. */
export const discretisedLossGradHostKernels = hostKernels<DiscretisedAttrs>(
    ({dy, x, mu, muEps, lnSigmaEps, t}: Record<string, HostTensor>, attrs) => {
      const [batch, dim] = x.shape;
      const lnSigma1 = Math.log(attrs.sigma1);
      const dMuEps = new Float32Array(batch * dim), dLnSigma = new Float32Array(batch * dim);
      const mean = new Float64Array(3);
      for (let b = 0; b < batch; b++) {
        const {gamma, b: scale, weight, masked} = timeFactors(t.values[b], lnSigma1, attrs.tMin);
        if (masked) continue;  // muX = 0, sigmaX = 1: constants
        const invGamma = 1 / gamma;
        for (let i = b * dim; i < (b + 1) * dim; i++) {
          const p = outputParams(mu.values[i], muEps.values[i], lnSigmaEps.values[i], invGamma, scale, attrs);
          discretisedMean(p.muX, p.sigmaX, attrs.numBins, true, mean);
          const dKHat = 2 * dy.values[b] * weight * (mean[0] - x.values[i]);
          dMuEps[i] = -dKHat * mean[1] * scale;
          if (p.sigmaLive) dLnSigma[i] = dKHat * mean[2] * p.sigmaX;
        }
      }
      return [{shape: [batch, dim], values: dMuEps}, {shape: [batch, dim], values: dLnSigma}];
    });
