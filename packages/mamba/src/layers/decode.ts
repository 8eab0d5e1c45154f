/**
 * Text generation with a {@link mambaLM} model, two ways that must agree token for token:
 * - recurrent: the prompt runs through the chunked scan once (prefill), keeping each block's
 *   `(convState, ssmState)`; every new token is then one `Mamba2.step` per block, whose cost does not depend on
 *   how long the context already is;
 * - full recompute: every step runs the whole prefix through the model.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertKnownKeys, generateTokens} from '@tfjs-ext/core';
import type {SamplingOptions} from '@tfjs-ext/core';
import {Mamba2State} from './mamba2_math';
import {MambaLMParts, mambaLMParts} from './mamba_lm';

/**
 * Runs a {@link mambaLM} model a few tokens at a time, carrying every block's recurrent state per batch row.
 * All rows advance together. Inference only.
 *
 * @example
 * ```ts
 * const decoder = new MambaDecoder(model, {batch: 1});
 * let logits = decoder.step(tf.tensor2d([[5, 9, 2]], undefined, 'int32'));  // [1, 3, vocab]: prefill
 * logits = decoder.step(tf.tensor2d([[7]], undefined, 'int32'));              // [1, 1, vocab]: one recurrent step
 * decoder.dispose();
 * ```
 */
export class MambaDecoder {
  readonly batch: number;
  private readonly parts: MambaLMParts;
  private states: Mamba2State[] | null = null;
  private position = 0;

  constructor(model: tf.LayersModel, options: {batch: number}) {
    this.parts = mambaLMParts(model);
    assertArg(Number.isInteger(options?.batch) && options.batch > 0, 'MambaDecoder',
              () => `options.batch must be a positive integer, got ${options?.batch}`);
    this.batch = options.batch;
  }

  /** Tokens consumed so far. */
  get length(): number {
    return this.position;
  }

  /**
   * Feeds `ids [batch, n]` (int32) and returns their logits `[batch, n, vocab]`. `n > 1` (or the first call)
   * runs the chunked scan from the carried state; `n == 1` afterwards runs the recurrent step.
   */
  step(ids: tf.Tensor2D): tf.Tensor3D {
    assertArg(ids instanceof tf.Tensor && ids.rank === 2 && ids.shape[0] === this.batch, 'MambaDecoder.step',
              () => `ids must have shape [${this.batch}, n], got [${ids?.shape}]`);
    const n = ids.shape[1];
    const {embedding, norms, mambas, finalNorm, head} = this.parts;
    const previous = this.states;
    const next: Mamba2State[] = [];
    const logits = tf.tidy(() => {
      let x = embedding.embed(ids);  // [batch, n, dModel]
      mambas.forEach((mamba, i) => {
        const h = norms[i].normalize(x);
        const state = previous?.[i];
        let out: tf.Tensor;
        if (n === 1 && state !== undefined) {
          const r = mamba.step(tf.reshape(h, [this.batch, -1]), state);
          out = tf.expandDims(r.output, 1);  // [batch, 1, dModel]
          next.push(r.state);
        } else {
          const r = mamba.forwardWithState(h, state);
          out = r.output;
          next.push(r.state);
        }
        tf.keep(next[i].convState);
        tf.keep(next[i].ssmState);
        x = tf.add(x, out);
      });
      return head.apply(finalNorm.normalize(x)) as tf.Tensor3D;  // [batch, n, vocab]
    });
    previous?.forEach((s) => tf.dispose([s.convState, s.ssmState]));
    this.states = next;
    this.position += n;
    return logits;
  }

  dispose(): void {
    this.states?.forEach((s) => tf.dispose([s.convState, s.ssmState]));
    this.states = null;
  }
}

/** Options of `generate`: the path, and the sampling options (temperature, seed, onLogits). */
export interface GenerateOptions extends SamplingOptions {
  /** Use the recurrent state (default) or recompute the whole prefix every step. */
  useState?: boolean;
}
const GENERATE_KEYS = ['useState', 'temperature', 'seed', 'onLogits'];

/**
 * Generates `numTokens` tokens after `prompts` (one array of token ids per batch row, all the same length) with
 * a {@link mambaLM} model and returns only the generated tokens, per row.
 *
 * @example
 * ```ts
 * const [fast] = await generate(model, [[1, 2, 3]], 20);
 * const [slow] = await generate(model, [[1, 2, 3]], 20, {useState: false});  // same tokens
 * ```
 */
export async function generate(model: tf.LayersModel, prompts: number[][], numTokens: number,
                               options: GenerateOptions = {}): Promise<number[][]> {
  assertKnownKeys('generate', options, GENERATE_KEYS);
  const {useState = true, ...sampling} = options;
  return generateTokens('generate', prompts, numTokens, {
    vocab: mambaLMParts(model).head.getConfig().units as number,
    full: (ids) => model.apply(ids) as tf.Tensor3D,
    decoder: useState ? (batch) => new MambaDecoder(model, {batch}) : null,
  }, sampling);
}
