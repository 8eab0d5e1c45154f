/**
 * Text generation with a {@link causalLM} model, two ways that must agree token for token:
 * - incremental: one `KVCache` per block, each step runs only the new tokens and attends to the cache with
 *   `flashDecode` (the prompt is prefilled with `flashAttention`);
 * - full recompute: every step runs the whole prefix through the model.
 * Both call the blocks' own math (`TransformerBlock.forward`) with the model's own weights.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, generateTokens} from '@tfjs-ext/core';
import type {SamplingOptions} from '@tfjs-ext/core';
import {flashAttention} from '../flash_attention/op';
import {flashDecode} from '../flash_decode/op';
import {KVCache} from '../kv_cache/kv_cache';
import {CausalLMParts, causalLMParts} from './causal_lm';

/**
 * Runs a {@link causalLM} model a few tokens at a time over per-block KV caches. Every batch row advances
 * together (same length). Inference only.
 *
 * @example
 * ```ts
 * const decoder = new IncrementalDecoder(model, {batch: 1, maxLength: 512});
 * let logits = decoder.step(tf.tensor2d([[5, 9, 2]], undefined, 'int32'));  // [1, 3, vocab]: prefill
 * logits = decoder.step(tf.tensor2d([[7]], undefined, 'int32'));              // [1, 1, vocab]
 * decoder.dispose();
 * ```
 */
export class IncrementalDecoder {
  readonly batch: number;
  readonly maxLength: number;
  private readonly parts: CausalLMParts;
  private readonly caches: KVCache[];
  private position = 0;

  constructor(model: tf.LayersModel, options: {batch: number; maxLength?: number}) {
    assertKnownKeys('IncrementalDecoder', options, ['batch', 'maxLength']);
    this.parts = causalLMParts(model);
    this.batch = options.batch;
    this.maxLength = options.maxLength ?? this.parts.positionEmbedding.maxLength;
    assertArg(this.maxLength <= this.parts.positionEmbedding.maxLength,
              'IncrementalDecoder',
              () => `maxLength ${this.maxLength} exceeds the model's ${this.parts.positionEmbedding.maxLength} positions`);
    this.caches = this.parts.blocks.map((block) => {
      const {numKvHeads, headDim} = block.headDims();
      return new KVCache({batch: this.batch, maxLength: this.maxLength, kvHeads: numKvHeads, headDim});
    });
  }

  /** Tokens consumed so far (the cache length of every row). */
  get length(): number {
    return this.position;
  }

  /** Feeds `ids: [batch, n]` (int32) and returns their logits `[batch, n, vocabSize]`. */
  step(ids: tf.Tensor2D): tf.Tensor3D {
    assertArg(ids.rank === 2 && ids.shape[0] === this.batch,
              'IncrementalDecoder.step', () => `ids must have shape [${this.batch}, n], got [${ids.shape}]`);
    const n = ids.shape[1];
    assertArg(this.position + n <= this.maxLength,
              'IncrementalDecoder.step', () => `${this.position} + ${n} tokens exceed maxLength ${this.maxLength}`);
    const offset = this.position;
    const {tokenEmbedding, positionEmbedding, blocks, head} = this.parts;
    const logits = tf.tidy(() => {
      let x = positionEmbedding.addPositions(tokenEmbedding.embed(ids), offset);  // [batch, n, dModel]
      blocks.forEach((block, i) => {
        x = block.forward(x, (q, k, v) => this.attend(this.caches[i], q, k, v, offset));
      });
      return head.project(x) as tf.Tensor3D;  // [batch, n, vocab]
    });
    this.position += n;
    return logits;
  }

  /** Appends the new keys/values to the block's cache, then attends to everything cached so far. */
  private attend(cache: KVCache, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, offset: number): tf.Tensor4D {
    cache.append(k, v);
    // Prefill: the new keys are the whole context, so plain causal attention over them is exact.
    if (offset === 0) return flashAttention(q, k, v, {causal: true});
    return flashDecode(q, cache.keys, cache.values, cache.lengths);
  }

  dispose(): void {
    this.caches.forEach((c) => c.dispose());
  }
}

/** Options of `generate`: the path, and the sampling options (temperature, seed, onLogits). */
export interface GenerateOptions extends SamplingOptions {
  /** Use the KV-cache path (default) or recompute the whole prefix every step. */
  useCache?: boolean;
}

/**
 * Generates `numTokens` tokens after `prompts` (one array of token ids per batch row, all the same length)
 * and returns only the generated tokens, per row.
 *
 * @example
 * ```ts
 * const [cached] = await generate(model, [[1, 2, 3]], 20);
 * const [slow] = await generate(model, [[1, 2, 3]], 20, {useCache: false});  // same tokens, slower
 * ```
 */
export async function generate(model: tf.LayersModel, prompts: number[][], numTokens: number,
                               options: GenerateOptions = {}): Promise<number[][]> {
  assertKnownKeys('generate', options, ['useCache', 'temperature', 'seed', 'onLogits']);
  const {useCache = true, ...sampling} = options;
  return generateTokens('generate', prompts, numTokens, {
    vocab: causalLMParts(model).head.vocabSize,
    full: (ids) => model.apply(ids) as tf.Tensor3D,
    decoder: useCache ? (batch, maxLength) => new IncrementalDecoder(model, {batch, maxLength}) : null,
  }, sampling);
}
