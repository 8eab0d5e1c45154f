/**
 * Trains a small character-level causal transformer LM (flashAttention in every block) on Debian's fortunes.
 * Checkpoints every `--checkpointEvery` steps (weights, Adam slots, step, RNG state, losses) into `--out`, and
 * `--resume` continues from there exactly (the same losses as an uninterrupted run); at the end it writes the
 * loss curve (loss.json, loss.csv, loss.png) and prints a sample.
 *
 *   npm run example:lm -- [--steps 1000] [--resume] [--help]
 *   (= node --conditions=tfjs-ext-source --import tsx examples/node/lm/train.ts ...)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {useBestBackend, initBackend, BackendName} from '@tfjs-ext/core';
import {causalLM, CausalLMConfig} from '@tfjs-ext/attention';
import {parseFlags, ProgressBar, runExample, TrainingCheckpoint, withSeededMathRandom, writeLinePlot,
        writeModel} from '../common';
import {BatchRandom, crossEntropy, sampleBatch} from './batches';
import {loadCorpus, VOCAB} from './corpus';
import {sampleText} from './sample';

const FLAGS = {
  steps: {default: 1000, help: 'optimiser steps'},
  batch: {default: 16, help: 'sequences per step'},
  context: {default: 64, help: 'training window (tokens per sequence)'},
  dModel: {default: 64, help: 'model width'},
  layers: {default: 2, help: 'transformer blocks'},
  heads: {default: 4, help: 'query heads per block'},
  kvHeads: {default: 2, help: 'key/value heads per block (grouped-query attention)'},
  maxLength: {default: 1280, help: 'positions the model has (generate.ts decodes at a 1k-token context)'},
  lr: {default: 3e-3, help: 'Adam learning rate'},
  seed: {default: 1, help: 'seed of the initialisation and the batches'},
  evalEvery: {default: 50, help: 'validation loss every N steps'},
  checkpointEvery: {default: 100, help: 'checkpoint every N steps (0: only at the end)'},
  sampleLength: {default: 300, help: 'characters of the sample printed at the end (0: none)'},
  backend: {default: 'best', help: 'best | cpu | wasm | webgpu | tensorflow'},
  out: {default: path.join(__dirname, 'checkpoint'), help: 'output folder (checkpoint, model, loss curve)'},
  resume: {default: false, help: 'continue from the checkpoint in --out'},
};

runExample(async () => {
  const flags = parseFlags('train.ts: a character-level transformer LM on Debian\'s fortunes', FLAGS);
  const backend = flags.backend === 'best' ? await useBestBackend() : await initBackend(flags.backend as BackendName);
  if (!backend.available) throw new Error(`backend ${flags.backend} is unavailable: ${backend.reason}`);
  console.log(`backend: ${backend.name} (${backend.device})`);

  const corpus = loadCorpus();
  console.log(`corpus: ${corpus.fortunes} fortunes, ${corpus.train.length} training + ${corpus.validation.length} ` +
              `validation characters, vocabulary ${VOCAB.length}`);
  const config: CausalLMConfig = {
    vocabSize: VOCAB.length, maxLength: flags.maxLength, dModel: flags.dModel, numLayers: flags.layers,
    numHeads: flags.heads, numKvHeads: flags.kvHeads, name: 'fortune_lm',
  };
  const checkpoint = new TrainingCheckpoint(path.join(flags.out, 'training'));
  const optimizer = tf.train.adam(flags.lr);
  const random = new BatchRandom(flags.seed >>> 0);  // seeded: runs are reproducible
  const validationBatch = sampleBatch(corpus.validation, flags.batch, flags.context, random);
  let model = withSeededMathRandom(flags.seed, () => causalLM(config));  // same initial weights every run
  let losses: number[] = [];
  let validation: Array<{step: number; loss: number}> = [];
  let startStep = 0;
  if (flags.resume) {
    if (!checkpoint.exists()) throw new Error(`--resume: no checkpoint in ${checkpoint.dir}`);
    const saved = await checkpoint.load({optimizers: {adam: optimizer}});
    model.dispose();
    model = saved.models.model;
    const state = saved.state as {step: number; random: number; losses: number[]; validation: typeof validation;
                                  flags: Record<string, unknown>};
    for (const k of ['batch', 'context', 'dModel', 'layers', 'heads', 'kvHeads', 'lr', 'seed'] as const) {
      if (state.flags[k] !== flags[k]) throw new Error(`--resume: --${k} is ${flags[k]} but the checkpoint used ${state.flags[k]}`);
    }
    ({step: startStep, losses, validation} = state);
    random.state = state.random;
    console.log(`resumed from ${checkpoint.dir} at step ${startStep}`);
  }
  console.log(`model: ${flags.layers} blocks, dModel ${flags.dModel}, ${flags.heads} heads (${flags.kvHeads} kv), ` +
              `${model.countParams()} parameters`);

  const evaluate = async (step: number) => {
    const loss = tf.tidy(() => crossEntropy(model, validationBatch.inputs, validationBatch.targets));
    validation.push({step, loss: (await loss.data())[0]});
    loss.dispose();
  };
  const save = (step: number) => checkpoint.save({
    models: {model}, optimizers: {adam: optimizer},
    state: {step, random: random.state, losses, validation, flags},
  });

  if (startStep === 0) await evaluate(0);
  const bar = new ProgressBar(flags.steps, {startAt: startStep});
  const t0 = performance.now();
  for (let step = startStep + 1; step <= flags.steps; step++) {
    const {inputs, targets} = sampleBatch(corpus.train, flags.batch, flags.context, random);
    const loss = optimizer.minimize(() => crossEntropy(model, inputs, targets), true)!;
    losses.push((await loss.data())[0]);
    tf.dispose([loss, inputs, targets]);
    if (step % flags.evalEvery === 0 || step === flags.steps) await evaluate(step);
    if (flags.checkpointEvery > 0 && step % flags.checkpointEvery === 0 && step < flags.steps) await save(step);
    const recent = losses.slice(-20);
    bar.update(step, `loss ${(recent.reduce((a, l) => a + l, 0) / recent.length).toFixed(3)}` +
                     `  val ${validation[validation.length - 1].loss.toFixed(3)}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const trained = flags.steps - startStep;
  console.log(`trained ${trained} steps in ${seconds.toFixed(1)} s ` +
              `(${((trained * flags.batch * flags.context) / Math.max(seconds, 1e-9)).toFixed(0)} tokens/s)`);
  console.log(`validation loss: ${validation.map((v) => `step ${v.step}: ${v.loss.toFixed(3)}`).join(', ')}\n`);

  await save(flags.steps);
  fs.writeFileSync(path.join(flags.out, 'loss.json'), JSON.stringify({train: losses, validation}, null, 1));
  fs.writeFileSync(path.join(flags.out, 'loss.csv'),
                   'step,train_loss\n' + losses.map((l, i) => `${i + 1},${l}`).join('\n') + '\n');
  await writeLinePlot(path.join(flags.out, 'loss.png'), [
    {name: 'train (mean of 20 steps)', points: losses.map((_, i) => {
      const w = losses.slice(Math.max(0, i - 19), i + 1);
      return [i + 1, w.reduce((a, b) => a + b, 0) / w.length];
    })},
    {name: 'validation', points: validation.map((v) => [v.step, v.loss])},
  ], {title: 'fortunes LM: cross-entropy', x: 'step', y: 'nats/char'});
  // The model alone, for generate.ts and the browser demo (examples/browser/export-models.ts).
  await writeModel(model, flags.out, {config, vocab: VOCAB.join(''), context: flags.context, steps: flags.steps});
  console.log(`saved the model, loss.json, loss.csv and loss.png to ${flags.out}`);

  if (flags.sampleLength > 0) {
    const sample = await sampleText(model, 'A ', flags.sampleLength, flags.context, {temperature: 0.8, seed: flags.seed});
    console.log(`\nsample (temperature 0.8, KV cache restarted every ${flags.context / 2} characters):\n${sample}`);
  }
  tf.dispose([validationBatch.inputs, validationBatch.targets]);
  optimizer.dispose();
  model.dispose();
});
