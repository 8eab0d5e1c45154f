/**
 * Text generation with a {@link causalLM} model, two ways that must agree token for token:
 * - incremental: one `KVCache` per block, each step runs only the new tokens and attends to the cache with
 *   `flashDecode` (the prompt is prefilled with `flashAttention`);
 * - full recompute: every step runs the whole prefix through the model.
 * Both call the blocks' own math (`TransformerBlock.forward`) with the model's own weights.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, pickTokens, rng} from '@tfjs-ext/core';
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

export interface GenerateOptions {
  /** Use the KV-cache path (default) or recompute the whole prefix every step. */
  useCache?: boolean;
  /** 0 (default) = greedy argmax; otherwise softmax sampling at this temperature. */
  temperature?: number;
  /** Seed of the sampler (temperature > 0). */
  seed?: number;
  /** Called with each step's next-token logits `[batch * vocab]` (row-major), e.g. to compare paths. */
  onLogits?: (logits: Float32Array, step: number) => void;
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
  const {useCache = true, temperature = 0, seed = 1} = options;
  const batch = prompts.length;
  assertArg(batch > 0 && prompts.every((p) => p.length === prompts[0].length && p.length > 0),
            'generate', () => 'prompts must be non-empty token arrays of one common length');
  const vocab = causalLMParts(model).head.vocabSize;
  const random = rng(seed);  // seeded, so sampled text is reproducible
  const sequences = prompts.map((p) => p.slice());
  const generated: number[][] = prompts.map(() => []);
  const decoder = useCache ?
      new IncrementalDecoder(model, {batch, maxLength: prompts[0].length + numTokens}) : null;
  try {
    let feed = prompts;  // tokens the next cached step consumes
    for (let s = 0; s < numTokens; s++) {
      const last = tf.tidy(() => {
        const ids = tf.tensor2d(decoder ? feed : sequences, undefined, 'int32');
        const logits = decoder ? decoder.step(ids) : model.apply(ids) as tf.Tensor3D;  // [batch, n, vocab]
        const n = logits.shape[1];
        return tf.reshape(tf.slice(logits, [0, n - 1, 0], [batch, 1, vocab]), [batch * vocab]);
      });
      const values = await last.data() as Float32Array;
      last.dispose();
      options.onLogits?.(values, s);
      const next = pickTokens(values, batch, vocab, temperature, random);
      next.forEach((t, b) => {
        sequences[b].push(t);
        generated[b].push(t);
      });
      feed = next.map((t) => [t]);
    }
  } finally {
    decoder?.dispose();
  }
  return generated;
}
