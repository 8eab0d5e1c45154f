/**
 * Loads the Mamba-2 LM written by train.ts, generates text over the recurrent state, and measures decoding speed
 * at a long context both ways: the recurrent step (conv + SSM state per block) vs full recomputation of the
 * whole prefix per token. The recurrent step costs the same at any context.
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/mamba/generate.ts [--prompt "A "] [--tokens 200]
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {BackendName, initBackend, useBestBackend} from '@tfjs-ext/core';
import {generate, MambaDecoder} from '@tfjs-ext/mamba';
import {parseFlags, ProgressBar, readModel, runExample} from '../common';
import {decode, encode, loadCorpus} from '../lm/corpus';

const FLAGS = {
  checkpoint: {default: path.join(__dirname, 'checkpoint'), help: 'model folder written by train.ts (--out)'},
  prompt: {default: 'A ', help: 'text to continue'},
  tokens: {default: 200, help: 'tokens to generate'},
  temperature: {default: 0.8, help: 'sampling temperature (0: greedy)'},
  seed: {default: 1, help: 'sampler seed'},
  context: {default: 1024, help: 'context length of the speed comparison (0 skips it)'},
  stateSteps: {default: 32, help: 'tokens timed on the recurrent path at that context'},
  fullSteps: {default: 4, help: 'tokens timed on the full-recompute path at that context'},
  backend: {default: 'best', help: 'best | cpu | wasm | webgpu | tensorflow'},
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
  const flags = parseFlags('generate.ts: text from the Mamba-2 LM trained by train.ts, and decoding speed', FLAGS);
  const backend = flags.backend === 'best' ? await useBestBackend() : await initBackend(flags.backend as BackendName);
  if (!backend.available) throw new Error(`backend ${flags.backend} is unavailable: ${backend.reason}`);
  console.log(`backend: ${backend.name} (${backend.device})`);
  const {model, metadata} = await readModel(flags.checkpoint);
  console.log(`loaded ${flags.checkpoint}: ${model.countParams()} parameters, trained ${metadata.steps} steps ` +
              `on ${metadata.context}-character windows`);

  const t0 = performance.now();
  const [tokens] = await generate(model, [Array.from(encode(flags.prompt))], flags.tokens,
                                  {temperature: flags.temperature, seed: flags.seed});
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n${flags.prompt}${decode(tokens)}\n`);
  console.log(`generated ${flags.tokens} tokens over the recurrent state in ${seconds.toFixed(2)} s ` +
              `(${(flags.tokens / seconds).toFixed(1)} tokens/s, prompt prefill included)\n`);

  if (flags.context > 0) {
    const context = flags.context;
    const text = Array.from(loadCorpus().validation.subarray(0, context + flags.fullSteps + 1));
    console.log(`decoding speed at a ${context}-token context`);
    // Recurrent: prefill `context` tokens once (chunked scan), then one token per step.
    const decoder = new MambaDecoder(model, {batch: 1});
    const prefill = tf.tensor2d([text.slice(0, context)], undefined, 'int32');
    tf.dispose([decoder.step(prefill), prefill]);
    const stateful = await tokensPerSecond(flags.stateSteps, (s) => tf.tidy(() =>
        decoder.step(tf.tensor2d([[text[(s + 1) % text.length]]], undefined, 'int32'))), 'recurrent');
    decoder.dispose();
    // Full recomputation: the whole prefix through the model for every new token.
    const full = await tokensPerSecond(flags.fullSteps, (s) => tf.tidy(() => {
      const ids = tf.tensor2d([text.slice(0, context + s + 1)], undefined, 'int32');
      const logits = model.predict(ids) as tf.Tensor3D;  // [1, n, vocab]: only the last row is used
      return tf.slice(logits, [0, logits.shape[1] - 1, 0], [1, 1, logits.shape[2]]);
    }), 'full recompute');
    console.log(`\ncontext ${context}: recurrent ${stateful.toFixed(1)} tokens/s, full recompute ` +
                `${full.toFixed(2)} tokens/s, speed-up ${(stateful / full).toFixed(1)}x`);
  }
  model.dispose();
});
