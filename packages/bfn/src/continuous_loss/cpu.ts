/**
 * Host kernels (cpu, wasm) of `bfnContinuousLoss`, forward and backward, over `[batch, dim]` rows.
 */
import {hostKernels, HostTensor} from '@tfjs-ext/core';
import {timeFactors} from '../shared/host_math';

export interface ContinuousAttrs {
  sigma1: number;
  tMin: number;
}

/** loss[b] = weight sum_d (x - xHat)^2: `[batch]`. */
export const continuousLossHostKernels = hostKernels<ContinuousAttrs>(
    ({x, mu, epsHat, t}: Record<string, HostTensor>, {sigma1, tMin}) => {
      const [batch, dim] = x.shape;
      const xs = x.values, ms = mu.values, es = epsHat.values, ts = t.values;
      const lnSigma1 = Math.log(sigma1);
      const out = new Float32Array(batch);
      for (let b = 0; b < batch; b++) {
        const {gamma, b: scale, weight, masked} = timeFactors(ts[b], lnSigma1, tMin);
        const invGamma = 1 / gamma;
        let sum = 0;
        for (let i = b * dim; i < (b + 1) * dim; i++) {
          const raw = ms[i] * invGamma - scale * es[i];
          const xHat = masked ? 0 : raw > 1 ? 1 : raw < -1 ? -1 : raw;
          const diff = xs[i] - xHat;
          sum += diff * diff;
        }
        out[b] = weight * sum;
      }
      return [{shape: [batch], values: out}];
    });

/** dL/d epsHat `[batch, dim]` from dy `[batch]`: dy weight 2 (xHat - x) (-B), zero where clipped or t < tMin. */
export const continuousLossGradHostKernels = hostKernels<ContinuousAttrs>(
    ({dy, x, mu, epsHat, t}: Record<string, HostTensor>, {sigma1, tMin}) => {
      const [batch, dim] = x.shape;
      const xs = x.values, ms = mu.values, es = epsHat.values, ts = t.values, dys = dy.values;
      const lnSigma1 = Math.log(sigma1);
      const out = new Float32Array(batch * dim);
      for (let b = 0; b < batch; b++) {
        const {gamma, b: scale, weight, masked} = timeFactors(ts[b], lnSigma1, tMin);
        if (masked) continue;
        const invGamma = 1 / gamma;
        const factor = -2 * dys[b] * weight * scale;
        for (let i = b * dim; i < (b + 1) * dim; i++) {
          const raw = ms[i] * invGamma - scale * es[i];
          if (raw >= -1 && raw <= 1) out[i] = factor * (raw - xs[i]);
        }
      }
      return [{shape: [batch, dim], values: out}];
    });
