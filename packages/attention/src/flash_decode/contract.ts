/**
 * The kernel contract shared by every flash-decoding backend (cpu JS, wasm, webgpu) and the composite.
 *
 * Kernel `TfjsExtFlashDecode` (inference only: no gradient is registered)
 *   inputs:  q [B, Nq, Hq, D], kCache [B, L, Hkv, D], vCache [B, L, Hkv, D] (float32),
 *            cacheLengths [B] (int32, valid positions per row, the new tokens included; 0 <= len <= L)
 *   attrs:   FlashDecodeAttrs
 *   outputs: output [B, Nq, Hq, D] float32
 *
 * Masking: causal, bottom-right aligned at `cacheLengths[b]`, i.e. `visibleKeyRange(i, Nq, len, causal)` of the
 * flash-attention contract: query i sees keys `j < len - Nq + i + 1`. A row that sees no key outputs zeros.
 */
import {ImplRegistry} from '@tfjs-ext/core';
import type {FlashAttentionAttrs} from '../flash_attention/contract';

export const FLASH_DECODE = 'TfjsExtFlashDecode';

/** Attributes every kernel receives (validated and defaulted by the op). */
export interface FlashDecodeAttrs {
  /** Multiplies q.k before the softmax. */
  scale: number;
  /** Number of key chunks of split-KV; 0 = 'auto' (the kernel picks from the problem size and the device). */
  numSplits: number;
  /**
   * An upper bound of every `cacheLengths` value, guaranteed by the op: their exact maximum when the caller
   * passed them on the host (array, KVCache.lengths), else the capacity L. 'auto' sizes the split with it and
   * the composite skips the cache positions beyond it.
   */
  maxValidLength: number;
}

/** The flash-attention attrs equivalent to one decode step (what the reference and the equality tests use). */
export const DECODE_MASK: FlashAttentionAttrs = {scale: 1, causal: true, windowLeft: -1, windowRight: -1};

/** Public options of `flashDecode`. */
export interface FlashDecodeOptions {
  /** Default `1 / sqrt(headDim)`. */
  scale?: number;
  /**
   * Split-KV chunk count: a positive integer, or 'auto' (default) to let the kernel fill the device. The
   * result is the same for every value (up to float32 rounding); on cpu/wasm it is ignored (see cpu.ts).
   */
  numSplits?: number | 'auto';
}

/** Problem sizes a host kernel receives. */
export interface DecodeDims {
  batch: number;
  /** Query rows per batch row (1 for token-by-token decode). */
  nq: number;
  /** Cache capacity (maxLength). */
  maxLength: number;
  hq: number;
  hkv: number;
  d: number;
}

/**
 * A host (cpu / wasm backend) implementation of the decode kernel over typed arrays. The plain-JS one always
 * exists; a SIMD WebAssembly one may register itself (same pattern as `HostFlashImpl`).
 * Must validate nothing (the op did) except `cacheLengths` values, which only the kernel sees.
 */
export interface HostDecodeImpl {
  /** 'js' or 'simd-wasm'. */
  name: string;
  decode(q: Float32Array, kCache: Float32Array, vCache: Float32Array, cacheLengths: Int32Array, dims: DecodeDims,
         attrs: FlashDecodeAttrs): Float32Array;
}

const hostImpls = new ImplRegistry<HostDecodeImpl>('flashDecode');

/** Registers a host implementation; the most recently registered non-'js' one is preferred. */
export function registerHostDecodeImpl(impl: HostDecodeImpl): void {
  hostImpls.register(impl);
}

/** The host implementation the cpu/wasm kernels use now: the forced one, else SIMD when registered, else JS. */
export function activeHostDecodeImpl(): HostDecodeImpl {
  return hostImpls.active();
}

/** Names of the registered host implementations. */
export function hostDecodeImpls(): string[] {
  return hostImpls.names();
}

/** Runs `fn` with the host kernels forced to implementation `name` (benchmarks, fallback tests). */
export function withHostDecodeImpl<T>(name: string, fn: () => T): T {
  return hostImpls.withForced(name, fn);
}

/** The error every kernel throws for a `cacheLengths` value outside `[0, maxLength]`. */
export function cacheLengthError(b: number, value: number, maxLength: number): Error {
  return new Error(`flashDecode: cacheLengths[${b}] = ${value} is out of range: expected 0 <= cacheLengths[b] <= ` +
                   `${maxLength} (the cache's maxLength, kCache shape [batch, maxLength, kvHeads, headDim])`);
}
