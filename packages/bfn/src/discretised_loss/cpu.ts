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
import {tailRatio, timeFactors} from '../shared/host_math';
import {discretisedSimd, simdDiscretisedMean} from '../simd/module';

export interface DiscretisedAttrs {
  sigma1: number;
  numBins: number;
  tMin: number;
  minStd: number;
  maxStd: number;
}

/**
 * Beyond this many standard deviations from muX a boundary's upper tail Q(z) is 1 (z < -TAIL_Z, to double
 * precision) or 0 (z > TAIL_Z: Q(13) = 6e-39, and the density phi(13) = 8e-38), so only the boundaries within
 * +- TAIL_Z sigmaX of muX are evaluated: O(min(K, 13 sigmaX K)) work per element instead of O(K). What is dropped
 * is below 1e-37 per boundary, far under float32 resolution of every output term.
 */
const TAIL_Z = 13;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * kHat and, when `withDerivatives`, d kHat/d muX and d kHat/d sigmaX, into `out[0..2]`. Boundaries b_j = -1 + j w,
 * j = 1..K-1, at z_j = z_lo + (j - jLo) dz; those left of the window contribute Q = 1 each, those right of it 0.
 * Inside it Q(z_j) = e_j tailRatio(|z_j|) with e_j = exp(-z_j^2 / 2) stepped by the exact recurrence
 * e_{j+1} = e_j r_j, r_j = exp(-z_j dz - dz^2 / 2), r_{j+1} = r_j exp(-dz^2): no `exp` per boundary (|z_j| <= 13
 * keeps e_j >= 2e-37, so nothing underflows; the rounding drift over 255 steps is ~1e-11 relative).
 */
export function discretisedMean(muX: number, sigmaX: number, numBins: number, withDerivatives: boolean,
                                out: Float64Array): void {
  const w = 2 / numBins, invW = numBins / 2, invSigma = 1 / sigmaX;
  // boundaries with z_j in [-TAIL_Z, TAIL_Z]: j in [jLo, jHi]
  let jLo = Math.ceil((muX - TAIL_Z * sigmaX + 1) * invW);
  let jHi = Math.floor((muX + TAIL_Z * sigmaX + 1) * invW);
  if (jLo < 1) jLo = 1;
  if (jHi > numBins - 1) jHi = numBins - 1;
  let tails = jLo > numBins - 1 ? numBins - 1 : jLo - 1;  // boundaries far left of muX: Q = 1
  let dens = 0, densZ = 0;
  if (jLo <= jHi) {
    const dz = w * invSigma, zLo = (-1 + jLo * w - muX) * invSigma;
    const q = Math.exp(-dz * dz);
    let e = Math.exp(-0.5 * zLo * zLo), r = Math.exp(-zLo * dz - 0.5 * dz * dz);
    for (let j = jLo; j <= jHi; j++) {
      const z = zLo + (j - jLo) * dz;
      const tail = e * tailRatio(z < 0 ? -z : z);
      tails += z >= 0 ? tail : 1 - tail;
      if (withDerivatives) {
        dens += e;
        densZ += e * z;
      }
      e *= r;
      r *= q;
    }
  }
  out[0] = -1 + w / 2 + w * tails;
  out[1] = w * dens * INV_SQRT_2PI * invSigma;
  out[2] = w * densZ * INV_SQRT_2PI * invSigma;
}

/**
 * The SIMD path's first pass: muX and sigmaX of every element (float32; N(0, 1) where t < tMin) and the row
 * factors; the module then evaluates the discretised means (csrc/discretised.c).
 */
function outputParamArrays({x, mu, muEps, lnSigmaEps, t}: Record<string, HostTensor>, attrs: DiscretisedAttrs) {
  const [batch, dim] = x.shape;
  const lnSigma1 = Math.log(attrs.sigma1);
  const {minStd, maxStd} = attrs;
  const ms = mu.values, es = muEps.values, ls = lnSigmaEps.values;
  const muX = new Float32Array(batch * dim), sigmaX = new Float32Array(batch * dim);
  const rows = [];
  for (let b = 0; b < batch; b++) {
    const f = timeFactors(t.values[b], lnSigma1, attrs.tMin);
    rows.push(f);
    const invGamma = 1 / f.gamma, scale = f.b;
    for (let i = b * dim; i < (b + 1) * dim; i++) {
      if (f.masked) {
        sigmaX[i] = 1;
        continue;
      }
      muX[i] = ms[i] * invGamma - scale * es[i];
      const ln = ls[i] < -10 ? -10 : ls[i] > 10 ? 10 : ls[i];
      const raw = scale * Math.exp(ln);
      sigmaX[i] = raw < minStd ? minStd : raw > maxStd ? maxStd : raw;
    }
  }
  return {batch, dim, muX, sigmaX, rows};
}

function simdForward(inputs: Record<string, HostTensor>, attrs: DiscretisedAttrs): Float32Array {
  const {batch, dim, muX, sigmaX, rows} = outputParamArrays(inputs, attrs);
  const [kHat] = simdDiscretisedMean(muX, sigmaX, attrs.numBins, false);
  const xs = inputs.x.values, out = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let i = b * dim; i < (b + 1) * dim; i++) sum += (xs[i] - kHat[i]) ** 2;
    out[b] = rows[b].weight * sum;
  }
  return out;
}

function simdBackward(inputs: Record<string, HostTensor>, attrs: DiscretisedAttrs): Float32Array[] {
  const {batch, dim, muX, sigmaX, rows} = outputParamArrays(inputs, attrs);
  const [kHat, dMu, dSigma] = simdDiscretisedMean(muX, sigmaX, attrs.numBins, true);
  const xs = inputs.x.values, ls = inputs.lnSigmaEps.values, dy = inputs.dy.values;
  const {minStd, maxStd} = attrs;
  const dMuEps = new Float32Array(batch * dim), dLnSigma = new Float32Array(batch * dim);
  for (let b = 0; b < batch; b++) {
    const {b: scale, weight, masked} = rows[b];
    if (masked) continue;  // muX = 0, sigmaX = 1: constants
    const g = 2 * dy[b] * weight;
    for (let i = b * dim; i < (b + 1) * dim; i++) {
      const dKHat = g * (kHat[i] - xs[i]);
      dMuEps[i] = -dKHat * dMu[i] * scale;
      const l = ls[i], raw = scale * Math.exp(l);
      if (l >= -10 && l <= 10 && raw >= minStd && raw <= maxStd) dLnSigma[i] = dKHat * dSigma[i] * sigmaX[i];
    }
  }
  return [dMuEps, dLnSigma];
}

export const discretisedLossHostKernels = hostKernels<DiscretisedAttrs>(
    (inputs: Record<string, HostTensor>, attrs) => {
      const {x, mu, muEps, lnSigmaEps, t} = inputs;
      const [batch, dim] = x.shape;
      if (discretisedSimd.enabled && batch * dim > 0) return [{shape: [batch], values: simdForward(inputs, attrs)}];
      const lnSigma1 = Math.log(attrs.sigma1);
      const out = new Float32Array(batch);
      const mean = new Float64Array(3);
      const xs = x.values, ms = mu.values, es = muEps.values, ls = lnSigmaEps.values;
      const {numBins, minStd, maxStd} = attrs;
      for (let b = 0; b < batch; b++) {
        const {gamma, b: scale, weight, masked} = timeFactors(t.values[b], lnSigma1, attrs.tMin);
        const invGamma = 1 / gamma;
        let sum = 0;
        if (masked) discretisedMean(0, 1, numBins, false, mean);  // the same N(0, 1) for the whole row
        for (let i = b * dim; i < (b + 1) * dim; i++) {
          if (!masked) {
            const muX = ms[i] * invGamma - scale * es[i];
            const ln = ls[i] < -10 ? -10 : ls[i] > 10 ? 10 : ls[i];
            const raw = scale * Math.exp(ln);
            discretisedMean(muX, raw < minStd ? minStd : raw > maxStd ? maxStd : raw, numBins, false, mean);
          }
          const diff = xs[i] - mean[0];
          sum += diff * diff;
        }
        out[b] = weight * sum;
      }
      return [{shape: [batch], values: out}];
    });

/** [dL/d muEps, dL/d lnSigmaEps], each `[batch, dim]`, from dy `[batch]`. */
export const discretisedLossGradHostKernels = hostKernels<DiscretisedAttrs>(
    (inputs: Record<string, HostTensor>, attrs) => {
      const {dy, x, mu, muEps, lnSigmaEps, t} = inputs;
      const [batch, dim] = x.shape;
      if (discretisedSimd.enabled && batch * dim > 0) {
        const [a, c] = simdBackward(inputs, attrs);
        return [{shape: [batch, dim], values: a}, {shape: [batch, dim], values: c}];
      }
      const lnSigma1 = Math.log(attrs.sigma1);
      const dMuEps = new Float32Array(batch * dim), dLnSigma = new Float32Array(batch * dim);
      const mean = new Float64Array(3);
      const xs = x.values, ms = mu.values, es = muEps.values, ls = lnSigmaEps.values;
      const {numBins, minStd, maxStd} = attrs;
      for (let b = 0; b < batch; b++) {
        const {gamma, b: scale, weight, masked} = timeFactors(t.values[b], lnSigma1, attrs.tMin);
        if (masked) continue;  // muX = 0, sigmaX = 1: constants
        const invGamma = 1 / gamma;
        const g = 2 * dy.values[b] * weight;
        for (let i = b * dim; i < (b + 1) * dim; i++) {
          const muX = ms[i] * invGamma - scale * es[i];
          const l = ls[i];
          const ln = l < -10 ? -10 : l > 10 ? 10 : l;
          const raw = scale * Math.exp(ln);
          const sigmaX = raw < minStd ? minStd : raw > maxStd ? maxStd : raw;
          discretisedMean(muX, sigmaX, numBins, true, mean);
          const dKHat = g * (mean[0] - xs[i]);
          dMuEps[i] = -dKHat * mean[1] * scale;
          // the gradient passes where neither clamp (on lnSigmaEps, on sigmaX) is active
          if (l >= -10 && l <= 10 && raw >= minStd && raw <= maxStd) dLnSigma[i] = dKHat * mean[2] * sigmaX;
        }
      }
      return [{shape: [batch, dim], values: dMuEps}, {shape: [batch, dim], values: dLnSigma}];
    });
