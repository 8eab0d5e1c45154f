/**
 * `KVCache`: the keys and values of one attention layer during autoregressive decoding, preallocated at
 * `[batch, maxLength, kvHeads, headDim]` and filled by `append` without reallocating (see append.ts for how
 * each backend writes in place, and which ones cannot).
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertKnownKeys, assertPositiveInt, assertRank, shapeString} from '@tfjs-ext/core';
import type {FlashDecodeOptions} from '../flash_decode/contract';
import {flashDecode} from '../flash_decode/op';
import {type AppendPath, appendRows} from './append';

export interface KVCacheConfig {
  batch: number;
  /** Capacity in positions; `append` beyond it throws. */
  maxLength: number;
  kvHeads: number;
  headDim: number;
}

const OP = 'KVCache';

/**
 * A preallocated per-layer KV cache. Each batch row has its own length (ragged batches: prompts of different
 * lengths, rows that stop early), kept on the host as `lengths` so overflow is caught synchronously.
 *
 * The storage tensors (`keys`, `values`) belong to the cache: do not dispose them, and read them again after
 * each `append` (on backends without an in-place path the cache swaps in a new tensor). On cpu, wasm and
 * webgpu `append` writes into the storage in place, so anything sharing it (a `tf.clone` or `reshape` of
 * `keys`) sees the writes: copy with `tf.add(keys, 0)` to keep a snapshot. Not differentiable.
 *
 * @example
 * ```ts
 * const cache = new KVCache({batch: 1, maxLength: 256, kvHeads: 2, headDim: 64});
 * cache.append(kPrompt, vPrompt);                 // [1, promptLen, 2, 64]
 * for (let step = 0; step < 10; step++) {
 *   cache.append(kNew, vNew);                     // [1, 1, 2, 64]
 *   const y = cache.attend(q);                    // flashDecode(q, cache.keys, cache.values, cache.lengths)
 * }
 * cache.dispose();
 * ```
 */
export class KVCache {
  readonly batch: number;
  readonly maxLength: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** How the last `append` wrote: 'in-place' (cpu, wasm, webgpu) or 'reallocate' (composite backends). */
  lastAppendPath: AppendPath | undefined;

  private k: tf.Tensor4D | null;
  private v: tf.Tensor4D | null;
  private readonly lens: Int32Array;

  constructor(config: KVCacheConfig) {
    assertArg(config !== null && typeof config === 'object', OP, () => 'config must be {batch, maxLength, kvHeads, headDim}');
    assertKnownKeys(OP, config, ['batch', 'maxLength', 'kvHeads', 'headDim'], 'config key');
    for (const key of ['batch', 'maxLength', 'kvHeads', 'headDim'] as const) {
      const value = config[key];
      assertPositiveInt(value, OP, `config.${key}`);
    }
    ({batch: this.batch, maxLength: this.maxLength, kvHeads: this.kvHeads, headDim: this.headDim} = config);
    const shape: [number, number, number, number] = [this.batch, this.maxLength, this.kvHeads, this.headDim];
    // Kept: a cache made inside tf.tidy must outlive it.
    this.k = this.v = null;
    try {
      this.k = tf.keep(tf.zeros(shape, 'float32'));
      this.v = tf.keep(tf.zeros(shape, 'float32'));
    } catch (e) {
      this.k?.dispose();
      const floats = shape.reduce((a, x) => a * x, 1);
      throw new Error(`${OP}: cannot allocate keys and values of shape ${shapeString(shape)} [batch, maxLength, ` +
                      `kvHeads, headDim]: 2 x ${floats} float32 = ${2 * 4 * floats} bytes ` +
                      `(${(2 * 4 * floats / 2 ** 30).toFixed(1)} GiB); lower maxLength or batch ` +
                      `(${e instanceof Error ? e.message : String(e)})`);
    }
    this.lens = new Int32Array(this.batch);
  }

  /** Key storage `[batch, maxLength, kvHeads, headDim]`; positions `>= lengths[b]` of row b are garbage. */
  get keys(): tf.Tensor4D {
    return this.live().k;
  }

  /** Value storage `[batch, maxLength, kvHeads, headDim]`. */
  get values(): tf.Tensor4D {
    return this.live().v;
  }

  /**
   * Valid positions per batch row (a copy, as a plain array: the host is the source of truth, so `append`
   * checks overflow without reading the GPU). `flashDecode` accepts it as its `cacheLengths` directly.
   */
  get lengths(): number[] {
    return Array.from(this.lens);
  }

  /** `lengths` as a new int32 `[batch]` tensor (the caller disposes it). */
  lengthsTensor(): tf.Tensor1D {
    return tf.tensor1d(this.lens, 'int32');
  }

  /** True once `dispose` ran. */
  get isDisposed(): boolean {
    return this.k === null;
  }

  /**
   * Writes new keys and values at each row's current length and advances the lengths.
   *
   * @param k `[batch, T, kvHeads, headDim]` float32.
   * @param v same shape as `k`.
   * @param counts positions of `k`/`v` to take per batch row (default `T` for every row): row b appends
   *     `k[b, :counts[b]]`, so one call can append a different number of tokens per row (ragged prompts).
   */
  append(k: tf.Tensor4D, v: tf.Tensor4D, counts?: ArrayLike<number>): void {
    const {k: kStore, v: vStore} = this.live();
    const layout = `[batch, T, kvHeads, headDim] = [${this.batch}, T, ${this.kvHeads}, ${this.headDim}]`;
    assertRank(k, 4, `${OP}.append`, 'k', layout);
    assertRank(v, 4, `${OP}.append`, 'v', layout);
    assertDtype(k, ['float32'], `${OP}.append`, 'k');
    assertDtype(v, ['float32'], `${OP}.append`, 'v');
    const [b, t, h, d] = k.shape;
    assertArg(b === this.batch && h === this.kvHeads && d === this.headDim, `${OP}.append`, () =>
        `k must have shape ${layout}, got ${shapeString(k.shape)}`);
    assertArg(tf.util.arraysEqual(v.shape, k.shape), `${OP}.append`, () =>
        `v must have the shape of k ${shapeString(k.shape)}, got ${shapeString(v.shape)}`);
    const n = counts === undefined ? new Array<number>(this.batch).fill(t) : Array.from(counts);
    assertArg(n.length === this.batch, `${OP}.append`, () => `counts must have length ${this.batch} (batch), got ${n.length}`);
    for (let r = 0; r < this.batch; r++) {
      assertArg(Number.isInteger(n[r]) && n[r] >= 0 && n[r] <= t, `${OP}.append`, () =>
          `counts[${r}] = ${n[r]} must be an integer in [0, ${t}] (T of k ${shapeString(k.shape)})`);
      assertArg(this.lens[r] + n[r] <= this.maxLength, `${OP}.append`, () =>
          `k overflows the cache: batch row ${r} holds ${this.lens[r]} positions and appending ${n[r]} would ` +
          `exceed maxLength ${this.maxLength} (cache shape ${shapeString(kStore.shape)}); reset() or make a larger cache`);
    }
    if (t === 0 || n.every((c) => c === 0)) return;
    const kOut = appendRows(kStore, k, this.lens, n);
    const vOut = appendRows(vStore, v, this.lens, n);
    this.k = kOut.cache;
    this.v = vOut.cache;
    this.lastAppendPath = kOut.path;
    for (let r = 0; r < this.batch; r++) this.lens[r] += n[r];
  }

  /**
   * `flashDecode(q, keys, values, lengths, options)`: attention of the newest `Nq` positions (already appended)
   * over this cache.
   */
  attend(q: tf.Tensor4D, options?: FlashDecodeOptions): tf.Tensor4D {
    const {k, v} = this.live();
    return flashDecode(q, k, v, this.lens, options);
  }

  /**
   * Shortens rows to `lengths[b]` positions (at most their current length), e.g. to drop the draft tokens a
   * speculative-decoding step rejected. The dropped positions are overwritten by later appends.
   */
  truncate(lengths: ArrayLike<number>): void {
    this.live();
    assertArg(lengths !== null && typeof lengths === 'object' && lengths.length === this.batch, `${OP}.truncate`, () =>
        `lengths must be an array of length ${this.batch} (batch)`);
    for (let r = 0; r < this.batch; r++) {
      assertArg(Number.isInteger(lengths[r]) && lengths[r] >= 0 && lengths[r] <= this.lens[r], `${OP}.truncate`, () =>
          `lengths[${r}] = ${lengths[r]} must be an integer in [0, ${this.lens[r]}] (the row's current length)`);
    }
    for (let r = 0; r < this.batch; r++) this.lens[r] = lengths[r];
  }

  /** Empties every row (lengths back to 0); the storage is kept and overwritten by later appends. */
  reset(): void {
    this.live();
    this.lens.fill(0);
  }

  /** Frees the storage; any later use throws. Idempotent. */
  dispose(): void {
    if (this.k === null) return;
    this.k.dispose();
    this.v?.dispose();
    this.k = null;
    this.v = null;
  }

  private live(): {k: tf.Tensor4D; v: tf.Tensor4D} {
    assertArg(this.k !== null && this.v !== null, OP, () => 'the cache was disposed');
    return {k: this.k, v: this.v};
  }
}
