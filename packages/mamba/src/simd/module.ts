/**
 * Mamba's SIMD WebAssembly module (built from ../../csrc by core's build-wasm.mjs) on core's loader
 * (`@tfjs-ext/core/simd`: own memory on cpu, the tfjs wasm heap on wasm with tensors read in place).
 */
import {SimdWasmModule} from '@tfjs-ext/core/simd';
import type {SimdExports} from '@tfjs-ext/core/simd';
import {MAMBA_SIMD_WASM} from './mamba_simd_wasm.generated';

/** The module's exports (see csrc/ssd.c for each signature; pointers are byte offsets). */
export interface MambaSimdExports extends SimdExports {
  ssd_forward_scratch(P: number, N: number): number;
  ssd_forward(x: number, alpha: number, s: number, B: number, C: number, D: number, s0: number, y: number,
              finalState: number, batch: number, L: number, H: number, P: number, G: number, N: number,
              scratch: number): void;
  ssd_backward_scratch(L: number, P: number, N: number, Q: number): number;
  ssd_backward(x: number, alpha: number, dt: number, B: number, C: number, D: number, s0: number, dy: number,
               dFinal: number, dx: number, dB: number, dC: number, dInit: number, dAlpha: number, w: number,
               batch: number, L: number, H: number, P: number, G: number, N: number, Q: number,
               scratch: number): void;
}

export const mambaSimd = new SimdWasmModule<MambaSimdExports>(MAMBA_SIMD_WASM);
