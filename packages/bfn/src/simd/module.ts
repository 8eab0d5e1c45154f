/**
 * The bfn package's SIMD WebAssembly module (built from ../../csrc by core's build-wasm.mjs) on core's loader
 * (`@tfjs-ext/core/simd`: own memory on cpu, the tfjs wasm heap on wasm with tensors read in place).
 */
import {SimdWasmModule} from '@tfjs-ext/core/simd';
import type {SimdExports} from '@tfjs-ext/core/simd';
import {BFN_SIMD_WASM} from './bfn_simd_wasm.generated';

/** The module's exports (csrc/discretised.c; pointers are byte offsets, 0 = absent). */
export interface BfnSimdExports extends SimdExports {
  discretised_mean(muX: number, sigmaX: number, kHat: number, dMu: number, dSigma: number, n: number,
                   numBins: number): void;
}

export const bfnSimd = new SimdWasmModule<BfnSimdExports>(BFN_SIMD_WASM);

/**
 * Whether the discretised host kernels use the SIMD module (default: where WebAssembly SIMD validates); tests
 * switch it off to check the plain-JS path too.
 */
export const discretisedSimd = {enabled: bfnSimd.supported()};

/**
 * kHat and (when `derivatives`) d kHat/d muX, d kHat/d sigmaX of the discretised normal for each element, in
 * float32 (csrc/discretised.c).
 */
export function simdDiscretisedMean(muX: Float32Array, sigmaX: Float32Array, numBins: number,
                                    derivatives: boolean): Float32Array[] {
  if (muX.length % 4 !== 0) {  // the module works on whole vectors of 4: pad with N(0, 1) elements
    const n4 = (muX.length + 3) & ~3;
    const m = new Float32Array(n4), s = new Float32Array(n4).fill(1);
    m.set(muX);
    s.set(sigmaX);
    return simdDiscretisedMean(m, s, numBins, derivatives).map((v) => v.subarray(0, muX.length));
  }
  const n = muX.length;
  const out = {vectors: n, width: 1, padded: 1};
  return bfnSimd.call([{data: muX}, {data: sigmaX}], derivatives ? [out, out, out] : [out], () => 0,
                      (ex, [m, s], o) => ex.discretised_mean(m, s, o[0], derivatives ? o[1] : 0,
                                                             derivatives ? o[2] : 0, n, numBins));
}
