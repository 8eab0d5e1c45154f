/**
 * The host kernels' scalar maths against the float64 oracle (plain functions: no backend involved): the normal
 * tail used by the discretised kernel, and its windowed, recurrence-stepped mean of the discretised normal.
 */
import {expect} from 'chai';
import {randomArray} from '@tfjs-ext/core/testing';
import {discretisedMean} from '../discretised_loss/cpu';
import {discretisedNormalProbs} from '../discretised_loss/reference';
import {bfnSimd, simdDiscretisedMean} from '../simd/module';
import {normalUpperTail} from './host_math';
import {normalCdf64} from './reference_math';

describe('bfn host maths', () => {
  it('normalUpperTail keeps relative accuracy 2e-8 from z = -13 to 13 (both tails, both formulas)', () => {
    let worst = 0;
    for (let z = -13; z <= 13; z += 0.00731) {
      const ref = normalCdf64(-z);  // Q(z) = Phi(-z)
      worst = Math.max(worst, Math.abs(normalUpperTail(z) - ref) / ref);
    }
    expect(worst).to.be.below(2e-8);
    expect(normalUpperTail(12) / 1.776482112077679e-33).to.be.closeTo(1, 2e-8);
  });

  it('discretisedMean (window of +-13 sigma, stepped exp) matches the full float64 sum and its derivatives', () => {
    const cases: Array<[number, number, number]> = [[0.0625, 1e-3, 16], [-0.9375, 1e-3, 16], [0.3, 10, 256],
                                                    [1.7, 0.05, 256], [-5, 2, 2], [0.5, 1, 2]];
    const u = randomArray(600, 11, 0, 1);
    for (let i = 0; i < 200; i++) {
      // muX in [-1.5, 1.5], sigmaX log-uniform in [1e-3, 10]; windows that end anywhere among the boundaries
      cases.push([3 * u[3 * i] - 1.5, 1e-3 * 1e4 ** u[3 * i + 1], [2, 16, 256][Math.floor(3 * u[3 * i + 2])]]);
    }
    const out = new Float64Array(3);
    for (const [m, s, K] of cases) {
      const w = 2 / K;
      const p = discretisedNormalProbs(m, s, K);
      let kHat = 0, dMu = 0, dSigma = 0;
      for (let k = 0; k < K; k++) kHat += p[k] * ((2 * k + 1) / K - 1);
      for (let j = 1; j < K; j++) {
        const z = (-1 + j * w - m) / s, phi = Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
        dMu += w * phi / s;
        dSigma += w * phi * z / s;
      }
      discretisedMean(m, s, K, true, out);
      const what = `muX ${m}, sigmaX ${s}, K ${K}`;
      expect(out[0], `kHat, ${what}`).to.be.closeTo(kHat, 1e-7);
      expect(out[1], `dkHat/dmuX, ${what}`).to.be.closeTo(dMu, 1e-9 + 1e-8 * Math.abs(dMu));
      expect(out[2], `dkHat/dsigmaX, ${what}`).to.be.closeTo(dSigma, 1e-9 + 1e-8 * Math.abs(dSigma));
    }
  });
});

describe('bfn SIMD module: discretised mean (float32, csrc/discretised.c)', () => {
  it('matches the float64 sum and its derivatives (200 random cases, K = 2 to 5, 16, 256, tails, NaN)', function () {
    if (!bfnSimd.supported()) this.skip();
    const u = randomArray(600, 12, 0, 1);
    const n = 206;
    const muX = new Float32Array(n), sigmaX = new Float32Array(n);
    const bins = [2, 3, 4, 5, 16, 256];  // K <= 4: four elements per vector; K > 4: the window per element
    for (let i = 0; i < 200; i++) {
      muX[i] = 3 * u[3 * i] - 1.5;
      sigmaX[i] = 1e-3 * 1e4 ** u[3 * i + 1];
    }
    muX.set([0.0625, -0.9375, 0.3, 1.7, -5, NaN], 200);
    sigmaX.set([1e-3, 1e-3, 10, 0.05, 2, 1], 200);
    for (const K of bins) {
      const [kHat, dMu, dSigma] = simdDiscretisedMean(muX, sigmaX, K, true);
      const [kHatOnly] = simdDiscretisedMean(muX, sigmaX, K, false);
      const ref = new Float64Array(3);
      for (let i = 0; i < n; i++) {
        const what = `muX ${muX[i]}, sigmaX ${sigmaX[i]}, K ${K}`;
        if (Number.isNaN(muX[i])) {
          expect(Number.isNaN(kHat[i]), `NaN in, NaN out: ${what}`).to.equal(true);
          continue;
        }
        discretisedMean(muX[i], sigmaX[i], K, true, ref);  // float64, checked against the full sum above
        expect(kHat[i], `kHat, ${what}`).to.be.closeTo(ref[0], 2e-6);
        expect(kHatOnly[i], `kHat without derivatives, ${what}`).to.equal(kHat[i]);
        // float32 z = (b_j - muX) / sigmaX: b_j = -1 + 2j/K is inexact for K = 3, 5 and the difference cancels,
        // so phi(z) carries ~|z| * 1e-6 relative error (measured 5e-6 at K = 3); exact boundaries for K = 2^k
        const tol = (K & (K - 1)) === 0 ? 1e-6 : 2e-5;
        expect(dMu[i], `dkHat/dmuX, ${what}`).to.be.closeTo(ref[1], tol * (1 + Math.abs(ref[1])));
        expect(dSigma[i], `dkHat/dsigmaX, ${what}`).to.be.closeTo(ref[2], tol * (1 + Math.abs(ref[2])));
      }
    }
  });
});
