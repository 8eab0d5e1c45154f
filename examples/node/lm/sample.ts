/**
 * Sampling longer than the training window. The model's positions are learned, so positions past the window
 * it was trained on are noise: generate in chunks, each one restarting the KV cache from the last half window
 * of text (a re-prefill every window/2 tokens).
 */
import * as tf from '@tensorflow/tfjs';
import {generate} from '@tfjs-ext/attention';
import {decode, encode} from './tokenizer';

export async function sampleText(model: tf.LayersModel, prompt: string, length: number, window: number,
                                 options: {temperature: number; seed: number}): Promise<string> {
  const tokens = Array.from(encode(prompt));
  let produced = 0;
  for (let chunk = 0; produced < length; chunk++) {
    const context = tokens.slice(-Math.max(1, Math.floor(window / 2)));
    const count = Math.min(length - produced, window - context.length);
    const [next] = await generate(model, [context], count, {...options, seed: options.seed + chunk});
    tokens.push(...next);
    produced += next.length;
  }
  return decode(tokens);
}
