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
import {useBestBackend, initBackend, BackendName} from '@tfjs-ext/core';
import {causalLM, CausalLMConfig} from '@tfjs-ext/attention';
import {parseFlags, runExample, writeModel} from '../common';
import {VOCAB} from './corpus';
import {trainCharLM} from './training';
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

  const config: CausalLMConfig = {
    vocabSize: VOCAB.length, maxLength: flags.maxLength, dModel: flags.dModel, numLayers: flags.layers,
    numHeads: flags.heads, numKvHeads: flags.kvHeads, name: 'fortune_lm',
  };
  const {model, losses, validation} = await trainCharLM({
    flags, build: () => causalLM(config), title: 'fortunes LM: cross-entropy',
    resumeKeys: ['batch', 'context', 'dModel', 'layers', 'heads', 'kvHeads', 'lr', 'seed'],
  }, (m) => console.log(`model: ${flags.layers} blocks, dModel ${flags.dModel}, ${flags.heads} heads ` +
                        `(${flags.kvHeads} kv), ${m.countParams()} parameters`));
  fs.writeFileSync(path.join(flags.out, 'loss.json'), JSON.stringify({train: losses, validation}, null, 1));
  // The model alone, for generate.ts and the browser demo (examples/browser/export-models.ts).
  await writeModel(model, flags.out, {config, vocab: VOCAB.join(''), context: flags.context, steps: flags.steps});
  console.log(`saved the model, loss.json, loss.csv and loss.png to ${flags.out}`);

  if (flags.sampleLength > 0) {
    const sample = await sampleText(model, 'A ', flags.sampleLength, flags.context, {temperature: 0.8, seed: flags.seed});
    console.log(`\nsample (temperature 0.8, KV cache restarted every ${flags.context / 2} characters):\n${sample}`);
  }
  model.dispose();
});
