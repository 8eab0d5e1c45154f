/**
 * Loads the checkpoint written by train.ts, generates text with the KV cache + flashDecode, and measures decoding
 * speed at a long context both ways: incremental (KV cache) vs full recomputation of the whole prefix per token.
 *
 *   npm run example:lm:generate -- [--prompt "A "] [--tokens 200] [--help]
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {useBestBackend} from '@tfjs-ext/core';
import {IncrementalDecoder} from '@tfjs-ext/attention';
import {parseFlags, ProgressBar, readModel, runExample} from '../common';
import {loadCorpus} from './corpus';
import {sampleText} from './sample';

const FLAGS = {
  checkpoint: {default: path.join(__dirname, 'checkpoint'), help: 'model folder written by train.ts (--out)'},
  prompt: {default: 'A ', help: 'text to continue'},
  tokens: {default: 200, help: 'tokens to generate'},
  temperature: {default: 0.8, help: 'sampling temperature (0: greedy)'},
  seed: {default: 1, help: 'sampler seed'},
  context: {default: 1024, help: 'context length of the speed comparison (0 skips it)'},
  cachedSteps: {default: 32, help: 'tokens timed on the cached path at that context'},
  fullSteps: {default: 4, help: 'tokens timed on the full-recompute path at that context'},
};

/** Times `steps` single-token steps of `run` after one warm-up step; returns tokens per second. */
async function tokensPerSecond(steps: number, run: (step: number) => tf.Tensor, label: string): Promise<number> {
  const warm = run(-1);
  await warm.data();
  warm.dispose();
  const bar = new ProgressBar(steps);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const logits = run(s);
    await logits.data();  // the sync point: async backends finish the step here
    logits.dispose();
    bar.update(s + 1, label);
  }
  return steps / ((performance.now() - t0) / 1000);
}

runExample(async () => {
  const flags = parseFlags('generate.ts: text from the LM trained by train.ts, and decoding speed', FLAGS);
  const backend = await useBestBackend();
  console.log(`backend: ${backend.name} (${backend.device})`);
  const {model, metadata} = await readModel(flags.checkpoint);
  console.log(`loaded ${flags.checkpoint}: ${model.countParams()} parameters, trained ${metadata.steps} steps ` +
              `on ${metadata.context}-character windows`);

  const window = metadata.context as number;
  const t0 = performance.now();
  const sample = await sampleText(model, flags.prompt, flags.tokens, window,
                                  {temperature: flags.temperature, seed: flags.seed});
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n${sample}\n`);
  console.log(`generated ${flags.tokens} tokens with the KV cache in ${seconds.toFixed(2)} s ` +
              `(${(flags.tokens / seconds).toFixed(1)} tokens/s, including a re-prefill every ${window / 2} tokens)\n`);

  if (flags.context > 0) {
    const maxLength = metadata.config.maxLength as number;
    const context = Math.min(flags.context, maxLength - flags.cachedSteps - 2);
    const text = Array.from(loadCorpus().validation.subarray(0, context + flags.fullSteps + 1));
    console.log(`decoding speed at a ${context}-token context (positions past the training window are untrained: ` +
                'this measures speed, not text quality)');

    // Cached: prefill `context` tokens once, then one token per step.
    const decoder = new IncrementalDecoder(model, {batch: 1, maxLength});
    const prefill = tf.tensor2d([text.slice(0, context)], undefined, 'int32');
    tf.dispose([decoder.step(prefill), prefill]);
    const cached = await tokensPerSecond(flags.cachedSteps, (s) => tf.tidy(() =>
        decoder.step(tf.tensor2d([[text[(s + 1) % text.length]]], undefined, 'int32'))), 'cached');
    decoder.dispose();

    // Full recomputation: the whole prefix through the model for every new token.
    const full = await tokensPerSecond(flags.fullSteps, (s) => tf.tidy(() => {
      const ids = tf.tensor2d([text.slice(0, context + s + 1)], undefined, 'int32');
      const logits = model.predict(ids) as tf.Tensor3D;  // [1, n, vocab]: only the last row is used
      return tf.slice(logits, [0, logits.shape[1] - 1, 0], [1, 1, logits.shape[2]]);
    }), 'full recompute');
    console.log(`\ncontext ${context}: cached ${cached.toFixed(1)} tokens/s, full recompute ${full.toFixed(2)} tokens/s, ` +
                `speed-up ${(cached / full).toFixed(1)}x (target >= 10x)`);
  }
  model.dispose();
});
