/**
 * Trains a character-level Mamba-2 LM (`mambaLM`: the SSD scan in every block) on Debian's fortunes with the
 * transformer LM example's corpus, tokenizer and budget (same steps, batch, context, learning rate and batches;
 * a parameter count within 10% of the transformer's). Checkpoints every `--checkpointEvery` steps (weights, Adam
 * slots, step, RNG state, losses) into `--out`; `--resume` continues from there. At the end it writes the loss
 * curve (loss.json, loss.csv, loss.png), the model, and prints a sample generated over the recurrent state.
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/mamba/train.ts [--steps 1000] [--resume] [--help]
 */
import * as fs from 'fs';
import * as path from 'path';
import {BackendName, initBackend, useBestBackend} from '@tfjs-ext/core';
import {causalLM} from '@tfjs-ext/attention';
import {generate, mambaLM, MambaLMConfig} from '@tfjs-ext/mamba';
import {parseFlags, runExample, writeModel} from '../common';
import {decode, encode, VOCAB} from '../lm/corpus';
import {trainCharLM} from '../lm/training';

const FLAGS = {
  steps: {default: 1000, help: 'optimiser steps (the transformer example\'s budget)'},
  batch: {default: 16, help: 'sequences per step'},
  context: {default: 64, help: 'training window (tokens per sequence)'},
  dModel: {default: 64, help: 'model width'},
  layers: {default: 5, help: 'residual Mamba2 blocks'},
  dState: {default: 64, help: 'SSM state size N'},
  headDim: {default: 32, help: 'head size P (heads = expand * dModel / headDim)'},
  expand: {default: 2, help: 'dInner = expand * dModel'},
  chunkSize: {default: 64, help: 'SSD chunk length'},
  lr: {default: 3e-3, help: 'Adam learning rate'},
  seed: {default: 1, help: 'seed of the initialisation and the batches'},
  evalEvery: {default: 50, help: 'validation loss every N steps'},
  checkpointEvery: {default: 100, help: 'checkpoint every N steps (0: only at the end)'},
  sampleLength: {default: 300, help: 'characters of the sample printed at the end (0: none)'},
  backend: {default: 'best', help: 'best | cpu | wasm | webgpu | tensorflow'},
  out: {default: path.join(__dirname, 'checkpoint'), help: 'output folder (checkpoint, model, loss curve)'},
  resume: {default: false, help: 'continue from the checkpoint in --out'},
};

/** The transformer example's defaults (examples/node/lm/train.ts), for the parameter comparison. */
const TRANSFORMER = {vocabSize: VOCAB.length, maxLength: 1280, dModel: 64, numLayers: 2, numHeads: 4, numKvHeads: 2};

runExample(async () => {
  const flags = parseFlags('train.ts: a character-level Mamba-2 LM on Debian\'s fortunes', FLAGS);
  const backend = flags.backend === 'best' ? await useBestBackend() : await initBackend(flags.backend as BackendName);
  if (!backend.available) throw new Error(`backend ${flags.backend} is unavailable: ${backend.reason}`);
  console.log(`backend: ${backend.name} (${backend.device})`);

  const config: MambaLMConfig = {
    vocabSize: VOCAB.length, dModel: flags.dModel, numLayers: flags.layers, dState: flags.dState,
    headDim: flags.headDim, expand: flags.expand, chunkSize: flags.chunkSize, seed: flags.seed, name: 'fortune_mamba',
  };
  const transformer = causalLM(TRANSFORMER);
  const transformerParams = transformer.countParams();
  transformer.dispose();
  const {model, losses, validation, seconds} = await trainCharLM({
    flags, build: () => mambaLM(config), title: 'fortunes Mamba-2 LM: cross-entropy',
    resumeKeys: ['batch', 'context', 'dModel', 'layers', 'dState', 'headDim', 'expand', 'lr', 'seed'],
  }, (m) => console.log(`model: ${flags.layers} Mamba2 blocks, dModel ${flags.dModel}, dState ${flags.dState}, ` +
                        `${(flags.expand * flags.dModel) / flags.headDim} heads of ${flags.headDim}: ` +
                        `${m.countParams()} parameters; the transformer example at its defaults: ${transformerParams} ` +
                        `(${(100 * (m.countParams() / transformerParams - 1)).toFixed(1)}%)`));
  fs.writeFileSync(path.join(flags.out, 'loss.json'),
                   JSON.stringify({backend: backend.name, parameters: model.countParams(),
                                   transformerParameters: transformerParams, seconds, train: losses, validation},
                                  null, 1));
  // The model alone, for generate.ts.
  await writeModel(model, flags.out, {config, vocab: VOCAB.join(''), context: flags.context, steps: flags.steps});
  console.log(`saved the model, loss.json, loss.csv and loss.png to ${flags.out}`);

  if (flags.sampleLength > 0) {
    const [tokens] = await generate(model, [Array.from(encode('A '))], flags.sampleLength,
                                    {temperature: 0.8, seed: flags.seed});
    console.log(`\nsample (temperature 0.8, recurrent state, no window):\nA ${decode(tokens)}`);
  }
  model.dispose();
});
