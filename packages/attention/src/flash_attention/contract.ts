/**
 * The kernel contract shared by every flash-attention backend (cpu JS, SIMD wasm, webgpu) and the gradient.
 *
 * Forward kernel `TfjsExtFlashAttention`
 *   inputs:  q [B, Nq, Hq, D], k [B, Nk, Hkv, D], v [B, Nk, Hkv, D] (float32),
 *            kvLengths [B] (int32; always passed: `Nk` for every row when the user gave none)
 *   attrs:   FlashAttentionAttrs
 *   outputs: [output [B, Nq, Hq, D] float32, lse [B, Hq, Nq] float32 (-Infinity for rows that see no key)]
 *
 * Backward kernel `TfjsExtFlashAttentionGrad` (registered per backend, called from the shared gradient)
 *   inputs:  q, k, v, kvLengths as above, output [B, Nq, Hq, D], lse [B, Hq, Nq], dy [B, Nq, Hq, D],
 *            optionally dLse [B, Hq, Nq] (the gradient reaching lse; only kernels listed in grad.ts take it)
 *   attrs:   FlashAttentionAttrs
 *   outputs: [dq [B, Nq, Hq, D], dk [B, Nk, Hkv, D], dv [B, Nk, Hkv, D]] (float32)
 *
 * Masking (bottom-right aligned): with `off = kvLengths[b] - Nq`, query i sees key j iff j < kvLengths[b] and,
 * when causal, j <= i + off, and, when windowLeft >= 0, j >= i + off - windowLeft, and, when windowRight >= 0,
 * j <= i + off + windowRight.
 */
import {ImplRegistry} from '@tfjs-ext/core';

export const FLASH_ATTENTION = 'TfjsExtFlashAttention';
export const FLASH_ATTENTION_GRAD = 'TfjsExtFlashAttentionGrad';

/** Attributes every kernel receives (already validated and defaulted by the op). */
export interface FlashAttentionAttrs {
  /** Multiplies q.k before the softmax. */
  scale: number;
  causal: boolean;
  /** Keys visible to the left of the (aligned) diagonal; -1 = unbounded. */
  windowLeft: number;
  /** Keys visible to the right of the (aligned) diagonal; -1 = unbounded. */
  windowRight: number;
}

/** Public options of `flashAttention` / `flashAttentionWithLse`. */
export interface FlashAttentionOptions {
  /** Default `1 / sqrt(headDim)`. */
  scale?: number;
  /** Causal mask, bottom-right aligned. Default false. */
  causal?: boolean;
  /** `[left, right]` sliding window around the aligned diagonal; -1 = unbounded. Default `[-1, -1]`. */
  window?: [number, number];
  /** int32 `[batch]`: keys at positions `>= kvLengths[b]` are padding. Not differentiable. */
  kvLengths?: import('@tensorflow/tfjs').Tensor1D;
}

/**
 * The visible key range `[lo, hi)` of query row `i` (bottom-right aligned); empty when `lo >= hi`.
 * Every kernel uses exactly this rule, so masks agree bit for bit across backends.
 */
export function visibleKeyRange(i: number, nq: number, kvLength: number, attrs: FlashAttentionAttrs): [number, number] {
  const off = kvLength - nq;
  let lo = 0;
  let hi = kvLength;
  if (attrs.causal) hi = Math.min(hi, i + off + 1);
  if (attrs.windowRight >= 0) hi = Math.min(hi, i + off + attrs.windowRight + 1);
  if (attrs.windowLeft >= 0) lo = Math.max(lo, i + off - attrs.windowLeft);
  return [lo, hi];
}

/** Problem sizes a host kernel receives. */
export interface FlashDims {
  batch: number;
  nq: number;
  nk: number;
  hq: number;
  hkv: number;
  d: number;
}

/**
 * A host (cpu / wasm backend) implementation of the forward and backward kernels over typed arrays.
 * The plain-JS one always exists; the SIMD WebAssembly module registers itself when the runtime supports it.
 */
export interface HostFlashImpl {
  /** 'js' or 'simd-wasm'. */
  name: string;
  forward(q: Float32Array, k: Float32Array, v: Float32Array, kvLengths: Int32Array, dims: FlashDims,
          attrs: FlashAttentionAttrs): {output: Float32Array; lse: Float32Array};
  backward(q: Float32Array, k: Float32Array, v: Float32Array, kvLengths: Int32Array, output: Float32Array,
           lse: Float32Array, dy: Float32Array, dims: FlashDims, attrs: FlashAttentionAttrs):
      {dq: Float32Array; dk: Float32Array; dv: Float32Array};
}

const hostImpls = new ImplRegistry<HostFlashImpl>('flashAttention');

/** Registers a host implementation; the most recently registered non-'js' one is preferred. */
export function registerHostFlashImpl(impl: HostFlashImpl): void {
  hostImpls.register(impl);
}

/** The host implementation the cpu/wasm kernels use now: the forced one, else SIMD when registered, else JS. */
export function activeHostFlashImpl(): HostFlashImpl {
  return hostImpls.active();
}

/** Names of the registered host implementations. */
export function hostFlashImpls(): string[] {
  return hostImpls.names();
}

/** Runs `fn` with the host kernels forced to implementation `name` (benchmarks, fallback tests). */
export function withHostFlashImpl<T>(name: string, fn: () => T): T {
  return hostImpls.withForced(name, fn);
}
