/**
 * Trains a small character-level causal transformer LM (flashAttention in every block) on Debian's fortunes,
 * saves a checkpoint, the loss curve (JSON + CSV) and prints a sample.
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/lm/train.ts [--steps=300] [--dModel=64] ...
 *
 * Every flag and its default is listed by `--help`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {useBestBackend} from '@tfjs-ext/core';
import {causalLM, CausalLMConfig, causalLMLoss} from '@tfjs-ext/attention';
import {saveCheckpoint} from './checkpoint';
import {parseFlags, ProgressBar, textPlot} from './console';
import {loadCorpus, VOCAB} from './corpus';
import {sampleText} from './sample';

const DEFAULTS = {
  steps: 1000,
  batch: 16,
  /** Training window (tokens per sequence). */
  context: 64,
  dModel: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  /** Positions the model has (generate.ts measures decoding at a 1k-token context, so leave room). */
  maxLength: 1280,
  lr: 3e-3,
  seed: 1,
  evalEvery: 50,
  sampleLength: 300,
  out: path.join(__dirname, 'checkpoint'),
};

/** `count` random windows of `context + 1` tokens: inputs are the first `context`, targets the last. */
function sampleBatch(tokens: Int32Array, count: number, context: number, random: () => number) {
  const inputs = new Int32Array(count * context), targets = new Int32Array(count * context);
  for (let b = 0; b < count; b++) {
    const start = Math.floor(random() * (tokens.length - context - 1));
    inputs.set(tokens.subarray(start, start + context), b * context);
    targets.set(tokens.subarray(start + 1, start + context + 1), b * context);
  }
  return {inputs: tf.tensor2d(inputs, [count, context], 'int32'), targets: tf.tensor2d(targets, [count, context], 'int32')};
}

function crossEntropy(model: tf.LayersModel, inputs: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return causalLMLoss(model.apply(inputs, {training: true}) as tf.Tensor3D, targets);  // logits [batch, context, vocab]
}

async function main() {
  if (process.argv.includes('--help')) {
    console.log(`flags: ${Object.entries(DEFAULTS).map(([k, v]) => `--${k}=${v}`).join(' ')}`);
    return;
  }
  const flags = parseFlags(DEFAULTS);
  const backend = await useBestBackend();
  console.log(`backend: ${backend.name} (${backend.device})`);

  const corpus = loadCorpus();
  console.log(`corpus: ${corpus.fortunes} fortunes, ${corpus.train.length} training + ${corpus.validation.length} ` +
              `validation characters, vocabulary ${VOCAB.length}`);

  const config: CausalLMConfig = {
    vocabSize: VOCAB.length, maxLength: flags.maxLength, dModel: flags.dModel, numLayers: flags.layers,
    numHeads: flags.heads, numKvHeads: flags.kvHeads, name: 'fortune_lm',
  };
  const model = causalLM(config);
  console.log(`model: ${flags.layers} blocks, dModel ${flags.dModel}, ${flags.heads} heads (${flags.kvHeads} kv), ` +
              `${model.countParams()} parameters`);

  const random = (() => {  // seeded: runs are reproducible
    let a = flags.seed >>> 0;
    return () => ((a = (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296);
  })();
  const optimizer = tf.train.adam(flags.lr);
  const validationBatch = sampleBatch(corpus.validation, flags.batch, flags.context, random);
  const losses: number[] = [];
  const validation: Array<{step: number; loss: number}> = [];
  const evaluate = async (step: number) => {
    const loss = tf.tidy(() => crossEntropy(model, validationBatch.inputs, validationBatch.targets));
    validation.push({step, loss: (await loss.data())[0]});
    loss.dispose();
  };

  await evaluate(0);
  const bar = new ProgressBar(flags.steps);
  const t0 = performance.now();
  for (let step = 1; step <= flags.steps; step++) {
    const {inputs, targets} = sampleBatch(corpus.train, flags.batch, flags.context, random);
    const loss = optimizer.minimize(() => crossEntropy(model, inputs, targets), true)!;
    losses.push((await loss.data())[0]);
    tf.dispose([loss, inputs, targets]);
    if (step % flags.evalEvery === 0 || step === flags.steps) await evaluate(step);
    const recent = losses.slice(-20);
    bar.update(step, `loss ${(recent.reduce((a, l) => a + l, 0) / recent.length).toFixed(3)}` +
                     `  val ${validation[validation.length - 1].loss.toFixed(3)}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`trained ${flags.steps} steps in ${seconds.toFixed(1)} s ` +
              `(${((flags.steps * flags.batch * flags.context) / seconds).toFixed(0)} tokens/s)`);
  console.log('\n' + textPlot(losses, {title: 'training loss (cross-entropy, nats/char)'}));
  console.log(`validation loss: ${validation.map((v) => `step ${v.step}: ${v.loss.toFixed(3)}`).join(', ')}\n`);

  fs.mkdirSync(flags.out, {recursive: true});
  fs.writeFileSync(path.join(flags.out, 'loss.json'), JSON.stringify({train: losses, validation}, null, 1));
  fs.writeFileSync(path.join(flags.out, 'loss.csv'),
                   'step,train_loss\n' + losses.map((l, i) => `${i + 1},${l}`).join('\n') + '\n');
  await saveCheckpoint(model, flags.out, {config, vocab: VOCAB.join(''), context: flags.context, steps: flags.steps});
  console.log(`saved checkpoint, loss.json and loss.csv to ${flags.out}`);

  const sample = await sampleText(model, 'A ', flags.sampleLength, flags.context, {temperature: 0.8, seed: flags.seed});
  console.log(`\nsample (temperature 0.8, KV cache restarted every ${flags.context / 2} characters):\n${sample}`);
  tf.dispose([validationBatch.inputs, validationBatch.targets]);
  optimizer.dispose();
  model.dispose();
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
