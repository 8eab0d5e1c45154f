/**
 * The training loop of the character LM examples (the transformer's `lm/train.ts` and the Mamba-2's
 * `mamba/train.ts`): the same corpus, batches, loss, validation, checkpoints, resume, progress bar and loss files,
 * so the two models differ only in the model they build.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {ProgressBar, TrainingCheckpoint, withSeededMathRandom, writeLinePlot} from '../common';
import {BatchRandom, crossEntropy, sampleBatch} from './batches';
import {loadCorpus, VOCAB} from './corpus';

/** The flags every character LM example has (see either train.ts for their help texts). */
export interface CharLMFlags {
  steps: number;
  batch: number;
  context: number;
  lr: number;
  seed: number;
  evalEvery: number;
  checkpointEvery: number;
  out: string;
  resume: boolean;
  [flag: string]: unknown;
}

export interface CharLMRun {
  flags: CharLMFlags;
  /** Builds the model (under a seeded Math.random: the same initial weights every run). */
  build: () => tf.LayersModel;
  /** Flags a resumed run must share with its checkpoint (the model's shape, batch, learning rate, seed, ...). */
  resumeKeys: string[];
  /** Title of the loss plot. */
  title: string;
}

export interface CharLMResult {
  model: tf.LayersModel;
  losses: number[];
  validation: Array<{step: number; loss: number}>;
  /** Wall seconds of this run's training steps (not counting a resumed run's earlier ones). */
  seconds: number;
}

/** Prints the corpus line and returns the corpus. */
export function loadCorpusVerbose(): ReturnType<typeof loadCorpus> {
  const corpus = loadCorpus();
  console.log(`corpus: ${corpus.fortunes} fortunes, ${corpus.train.length} training + ${corpus.validation.length} ` +
              `validation characters, vocabulary ${VOCAB.length}`);
  return corpus;
}

/**
 * Trains `run.build()`'s model with Adam for `flags.steps` steps (or resumes the checkpoint in `flags.out`),
 * evaluating every `evalEvery` steps and checkpointing every `checkpointEvery`, then writes `loss.csv` and
 * `loss.png` to `flags.out`. `describe` prints the model line once the model exists (fresh or resumed).
 * The caller owns (and disposes) the returned model.
 */
export async function trainCharLM(run: CharLMRun, describe: (model: tf.LayersModel) => void): Promise<CharLMResult> {
  const {flags} = run;
  const corpus = loadCorpusVerbose();
  const checkpoint = new TrainingCheckpoint(path.join(flags.out, 'training'));
  const optimizer = tf.train.adam(flags.lr);
  const random = new BatchRandom(flags.seed >>> 0);  // seeded: runs are reproducible
  const validationBatch = sampleBatch(corpus.validation, flags.batch, flags.context, random);
  let model = withSeededMathRandom(flags.seed, run.build);
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
    for (const k of run.resumeKeys) {
      if (state.flags[k] !== flags[k]) throw new Error(`--resume: --${k} is ${flags[k]} but the checkpoint used ${state.flags[k]}`);
    }
    ({step: startStep, losses, validation} = state);
    random.state = state.random;
    console.log(`resumed from ${checkpoint.dir} at step ${startStep}`);
  }
  describe(model);

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
  fs.writeFileSync(path.join(flags.out, 'loss.csv'),
                   'step,train_loss\n' + losses.map((l, i) => `${i + 1},${l}`).join('\n') + '\n');
  await writeLinePlot(path.join(flags.out, 'loss.png'), [
    {name: 'train (mean of 20 steps)', points: losses.map((_, i) => {
      const w = losses.slice(Math.max(0, i - 19), i + 1);
      return [i + 1, w.reduce((a, b) => a + b, 0) / w.length];
    })},
    {name: 'validation', points: validation.map((v) => [v.step, v.loss])},
  ], {title: run.title, x: 'step', y: 'nats/char'});
  tf.dispose([validationBatch.inputs, validationBatch.targets]);
  optimizer.dispose();
  return {model, losses, validation, seconds};
}
