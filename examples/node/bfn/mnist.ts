/**
 * Binarised digits with a discrete BFN (K = 2, sqrtBeta1 = 3, the reference's MNIST config) and a small
 * time-conditioned MLP. Training binarises dynamically (a fresh Bernoulli draw of every grey level per batch);
 * evaluation uses one fixed binarisation of the held-out digits. Reports, in nats per image, the continuous-time
 * loss, the n-step losses (n = 10, 25, 100, 784) and the reconstruction loss beside an independent-Bernoulli
 * baseline fitted on the training digits in the same run; writes loss.png and samples.png.
 *
 *   nice -n 5 node --conditions=tfjs-ext-source --import tsx examples/node/bfn/mnist.ts [--minutes 30] [--resume]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {BFN, DiscreteFlow} from '@tfjs-ext/bfn';
import {parseFlags, runExample, SeededRandom, writeImageGrid} from '../common';
import {loadDigits, meanSE, mlpNetwork, perExample, train, useBackend} from './common';

runExample(async () => {
  const opts = parseFlags('mnist.ts: a discrete BFN on binarised digits', {
    backend: {default: 'wasm', help: 'tfjs backend'},
    minutes: {default: 30, help: 'training time budget (minutes, summed over resumed runs)'},
    steps: {default: 1e9, help: 'maximum optimiser steps'},
    batch: {default: 64, help: 'batch size'},
    lr: {default: 1e-3, help: 'Adam learning rate'},
    ema: {default: 0.999, help: 'decay of the weight average used for evaluation and sampling (0: none)'},
    hidden: {default: 512, help: 'hidden units per layer'},
    layers: {default: 2, help: 'hidden layers'},
    sqrtBeta1: {default: 3, help: 'final accuracy sqrt(beta(1))'},
    repeats: {default: 4, help: 'evaluation passes over the held-out digits (Monte Carlo over t and the flow)'},
    samples: {default: 10, help: 'sender samples per step of the n-step loss'},
    sampleSteps: {default: 100, help: 'Bayesian updates per generated image'},
    checkpointEvery: {default: 500, help: 'steps between checkpoints'},
    evalEvery: {default: 1000, help: 'steps between held-out loss points on the curve'},
    seed: {default: 1, help: 'seed of data order, binarisation, flow noise and initialisation'},
    resume: {default: false, help: 'continue from the checkpoint in --out'},
    out: {default: 'examples/node/bfn/runs/mnist', help: 'output folder'},
  });
  await useBackend(opts.backend);
  fs.mkdirSync(opts.out, {recursive: true});
  const {train: trainSet, test: testSet} = await loadDigits();
  console.log(`digits: ${trainSet.n} training, ${testSet.n} held out`);

  // one fixed binarisation of the held-out digits
  const fixedRng = new SeededRandom(12345);
  const testBits = Int32Array.from(testSet.pixels, (p) => (fixedRng.next() < p ? 1 : 0));

  // baseline: independent Bernoulli per pixel, fitted on the training grey levels (expected bits), add-one smoothed
  const pOn = new Float64Array(784);
  for (let i = 0; i < trainSet.n; i++) for (let d = 0; d < 784; d++) pOn[d] += trainSet.pixels[i * 784 + d];
  for (let d = 0; d < 784; d++) pOn[d] = (pOn[d] + 1) / (trainSet.n + 2);
  const baseline = new Float64Array(testSet.n);
  for (let i = 0; i < testSet.n; i++) {
    let nll = 0;
    for (let d = 0; d < 784; d++) nll -= Math.log(testBits[i * 784 + d] ? pOn[d] : 1 - pOn[d]);
    baseline[i] = nll;
  }

  const network = mlpNetwork(784, 784, opts.hidden, opts.layers, opts.seed);
  const bfn = new BFN(new DiscreteFlow({numClasses: 2, sqrtBeta1: opts.sqrtBeta1}), network, {seed: opts.seed});
  console.log(`network: ${network.countParams()} parameters`);

  const testX = (from: number, to: number) => tf.tensor2d(testBits.subarray(from * 784, to * 784), [to - from, 784], 'int32');
  const evalCts = async (repeats: number) => {
    const all: number[] = [];
    for (let r = 0; r < repeats; r++) {
      all.push(...await perExample(testSet.n, 500, (a, b) => bfn.lossAt(testX(a, b), tf.randomUniform([b - a], 0, 1, 'float32', 1000 + r), false)));
    }
    return meanSE(all);
  };
  // epoch order: a Fisher-Yates shuffle drawn from the training RNG; the checkpoint keeps the RNG state the
  // shuffle started from and the position, so a resumed run replays the same order from the same image
  let order: Int32Array = new Int32Array(0), pos = 0, shuffleState = -1;
  const shuffle = (rng: SeededRandom) => {
    shuffleState = rng.state;
    order = Int32Array.from({length: trainSet.n}, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const k = Math.floor(rng.next() * (i + 1));
      [order[i], order[k]] = [order[k], order[i]];
    }
    pos = 0;
  };
  const batch = (rng: SeededRandom) => {
    const m = opts.batch, x = new Int32Array(m * 784);
    for (let j = 0; j < m; j++) {
      if (pos >= order.length) shuffle(rng);
      const img = order[pos++];
      for (let d = 0; d < 784; d++) x[j * 784 + d] = rng.next() < trainSet.pixels[img * 784 + d] ? 1 : 0;
    }
    return tf.tensor2d(x, [m, 784], 'int32');
  };
  const {steps, seconds} = await train(bfn, {
    outDir: opts.out, minutes: opts.minutes, maxSteps: opts.steps, lr: opts.lr, resume: opts.resume,
    checkpointEvery: opts.checkpointEvery, seed: opts.seed, batch, evalEvery: opts.evalEvery,
    evaluate: async () => (await evalCts(1))[0], unit: 'nats/image', emaDecay: opts.ema,
    saveState: () => ({shuffleState, pos}),
    restoreState: (s) => {
      order = new Int32Array(0);
      pos = 0;
      if (typeof s.shuffleState !== 'number' || s.shuffleState < 0) return;  // an older checkpoint: a fresh epoch
      const replay = new SeededRandom(s.shuffleState);
      shuffle(replay);
      pos = s.pos as number;
    },
  });

  console.log(`trained ${steps} steps in ${(seconds / 60).toFixed(1)} min; evaluating on ${testSet.n} held-out digits`);
  const results: Record<string, [number, number]> = {};
  results['continuous-time L^inf'] = await evalCts(opts.repeats);
  for (const n of [10, 25, 100, 784]) {
    const all: number[] = [];
    for (let r = 0; r < opts.repeats; r++) {
      all.push(...await perExample(testSet.n, 250, (a, b) => bfn.discreteTimeLoss(testX(a, b), n, {samples: opts.samples})));
    }
    results[`${n}-step L^n`] = meanSE(all);
  }
  results['reconstruction L^r'] = meanSE(await perExample(testSet.n, 500, (a, b) => bfn.reconstructionLoss(testX(a, b))));
  results['independent Bernoulli baseline'] = meanSE(baseline);
  const lines = ['| loss (held-out digits) | nats/image | bits/pixel |', '|---|---|---|'];
  for (const [name, [m, se]] of Object.entries(results)) {
    lines.push(`| ${name} | ${m.toFixed(2)} +- ${se.toFixed(2)} | ${(m / 784 / Math.LN2).toFixed(4)} |`);
  }
  const table = lines.join('\n');
  console.log(table);

  const images = bfn.sample(64, opts.sampleSteps);
  const v = await images.data();
  images.dispose();
  writeImageGrid(path.join(opts.out, 'samples.png'),
                 Array.from({length: 64}, (_, i) => Float32Array.from(v.subarray(i * 784, (i + 1) * 784))),
                 {width: 28, height: 28, cols: 8, scale: 2});
  fs.writeFileSync(path.join(opts.out, 'results.json'), JSON.stringify({
    steps, minutes: seconds / 60, params: network.countParams(), config: opts, results,
  }, null, 2));
  fs.writeFileSync(path.join(opts.out, 'results.md'), `${table}\n\n${steps} steps, ${(seconds / 60).toFixed(1)} min, ` +
                   `${network.countParams()} parameters, backend ${opts.backend}\n`);
  console.log(`wrote ${opts.out}/{loss.png, samples.png, results.json, results.md}`);
});
