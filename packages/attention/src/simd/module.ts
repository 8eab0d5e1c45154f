/**
 * Attention's SIMD WebAssembly module (built from ../../csrc by core's build-wasm.mjs) on core's loader
 * (`@tfjs-ext/core/simd`: own memory or the tfjs wasm heap, zero-copy heap views, one block per call).
 */
import {SimdWasmModule} from '@tfjs-ext/core/simd';
import type {KernelInput, KernelOutput, SimdCallInfo, SimdExports} from '@tfjs-ext/core/simd';
import {ATTENTION_SIMD_WASM} from './attention_simd_wasm.generated';

export type {KernelInput, KernelOutput, SimdCallInfo};

/** The module's exports (see csrc/*.c for each signature). */
export interface FlashSimdExports extends SimdExports {
  flash_forward_scratch(nk: number, d: number): number;
  flash_forward(q: number, k: number, v: number, kvLens: number, out: number, mOut: number, lOut: number,
                batch: number, nq: number, nk: number, hq: number, hkv: number, d: number, scale: number,
                causal: number, windowLeft: number, windowRight: number, scratch: number): void;
  flash_backward_scratch(nq: number, nk: number, d: number, group: number): number;
  flash_backward(q: number, k: number, v: number, kvLens: number, o: number, lse: number, dy: number, dq: number,
                 dk: number, dv: number, batch: number, nq: number, nk: number, hq: number, hkv: number, d: number,
                 scale: number, causal: number, windowLeft: number, windowRight: number, scratch: number): void;
  flash_decode_scratch(rows: number, d: number, hkv: number): number;
  flash_decode(q: number, k: number, v: number, lens: number, out: number, batch: number, nq: number,
               maxLength: number, hq: number, hkv: number, d: number, scale: number, scratch: number): void;
  exp2_array(x: number, y: number, n: number): void;
}

/** The module (own memory kept between calls up to core's default 16 MiB; larger calls give it back). */
export const flashSimd = new SimdWasmModule<FlashSimdExports>(ATTENTION_SIMD_WASM);

/** Whether this runtime validates the module (WebAssembly with SIMD128, bulk memory, mutable globals). */
export function simdWasmSupported(): boolean {
  return flashSimd.supported();
}

/** The instance over the module's own memory. */
export function flashSimdModule() {
  return flashSimd.ownInstance();
}

/** Whether every array lives on the tfjs wasm heap and the module can read it there. */
export function readableInPlace(...arrays: Array<Float32Array | Int32Array>): boolean {
  return flashSimd.readableInPlace(...arrays);
}

/** What the latest SIMD kernel call did. */
export function lastSimdCall(): SimdCallInfo {
  return flashSimd.lastCall();
}

/** Runs one kernel of the module (see `SimdWasmModule.call`). */
export function callKernel(inputs: KernelInput[], outputs: KernelOutput[],
                           scratchFloats: (x: FlashSimdExports) => number,
                           run: (x: FlashSimdExports, ins: number[], outs: number[], scratch: number) => void):
    Float32Array[] {
  return flashSimd.call(inputs, outputs, scratchFloats, run);
}
