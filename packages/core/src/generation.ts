/**
 * The token-by-token generation loop the LM packages share (the transformer's KV-cache decoder and Mamba-2's
 * recurrent decoder both plug into it): argument checks, the fast-path / full-recompute choice, sampling and
 * bookkeeping live here once, so the two models generate identical text for identical logits and seeds.
 */
import * as tf from '@tensorflow/tfjs';
import {pickTokens, rng} from './random';
import {assertArg} from './validate';

/** A stateful decoder: `step(ids [batch, n])` consumes `n` more tokens and returns their logits `[batch, n, vocab]`. */
export interface TokenDecoder {
  step(ids: tf.Tensor2D): tf.Tensor3D;
  dispose(): void;
}

/** How {@link generateTokens} computes each step's logits. */
export interface GenerationPaths {
  /** Vocabulary size (the logits' last axis). */
  vocab: number;
  /** The whole sequence so far `[batch, length]` -> logits `[batch, length, vocab]` (the slow path). */
  full: (ids: tf.Tensor2D) => tf.Tensor3D;
  /** Makes a fresh stateful decoder for `batch` rows and `maxLength` tokens in all (the fast path), or null to
   *  recompute the whole prefix every step. */
  decoder: ((batch: number, maxLength: number) => TokenDecoder) | null;
}

/** Sampling options of {@link generateTokens}. */
export interface SamplingOptions {
  /** 0 (default) = greedy argmax; otherwise softmax sampling at this temperature. */
  temperature?: number;
  /** Seed of the sampler (temperature > 0). */
  seed?: number;
  /** Called with each step's next-token logits `[batch * vocab]` (row-major), e.g. to compare paths. */
  onLogits?: (logits: Float32Array, step: number) => void;
}

/**
 * Generates `numTokens` tokens after `prompts` (one array of token ids per batch row, all the same length) and
 * returns only the generated tokens, per row. With a decoder, the prompt is fed once and then one token per step;
 * without, every step runs `full` on the whole sequence. `op` names the caller in error messages. Disposes the
 * decoder at the end.
 *
 * @example
 * ```ts
 * const [tokens] = await generateTokens('generate', [[1, 2, 3]], 20,
 *     {vocab, full: (ids) => model.apply(ids) as tf.Tensor3D, decoder: null}, {temperature: 0.8});
 * ```
 */
export async function generateTokens(op: string, prompts: number[][], numTokens: number, paths: GenerationPaths,
                                     options: SamplingOptions = {}): Promise<number[][]> {
  const {temperature = 0, seed = 1} = options;
  const batch = prompts.length;
  assertArg(batch > 0 && prompts.every((p) => p.length === prompts[0].length && p.length > 0),
            op, () => 'prompts must be non-empty token arrays of one common length');
  assertArg(Number.isInteger(numTokens) && numTokens >= 0, op,
            () => `numTokens must be a non-negative integer, got ${numTokens}`);
  const {vocab, full} = paths;
  const decoder = paths.decoder ? paths.decoder(batch, prompts[0].length + numTokens) : null;
  const random = rng(seed);  // seeded, so sampled text is reproducible
  const sequences = prompts.map((p) => p.slice());
  const generated: number[][] = prompts.map(() => []);
  try {
    let feed = prompts;  // the tokens the decoder consumes next
    for (let s = 0; s < numTokens; s++) {
      const last = tf.tidy(() => {
        const ids = tf.tensor2d(decoder ? feed : sequences, undefined, 'int32');
        const logits = decoder ? decoder.step(ids) : full(ids);  // [batch, n, vocab]
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
