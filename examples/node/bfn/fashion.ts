/**
 * Fashion-MNIST at 16 grey levels with a discretised BFN (K = 16 bins, sigma1^2 = 1e-3, the reference's 16-bin
 * config) and a small time-conditioned MLP. Reports bits per dimension on held-out images (continuous-time loss,
 * n-step losses and the reconstruction loss) beside an independent per-pixel categorical baseline fitted on the
 * training images in the same run; writes loss.png and samples.png. Data: Debian's dataset-fashion-mnist.
 *
 *   nice -n 5 node --conditions=tfjs-ext-source --import tsx examples/node/bfn/fashion.ts [--minutes 20] [--resume]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {BFN, DiscretisedFlow} from '@tfjs-ext/bfn';
import {parseFlags, runExample, SeededRandom, writeImageGrid} from '../common';
import {loadFashion, meanSE, mlpNetwork, perExample, train, useBackend} from './common';

const K = 16;

runExample(async () => {
  const opts = parseFlags('fashion.ts: a discretised BFN on Fashion-MNIST at 16 grey levels', {
    backend: {default: 'wasm', help: 'tfjs backend'},
    minutes: {default: 20, help: 'training time budget (minutes, summed over resumed runs)'},
    steps: {default: 1e9, help: 'maximum optimiser steps'},
    batch: {default: 64, help: 'batch size'},
    lr: {default: 2e-3, help: 'Adam learning rate'},
    hidden: {default: 256, help: 'hidden units per layer'},
    layers: {default: 2, help: 'hidden layers'},
    test: {default: 2000, help: 'held-out images evaluated (the first of the 10k test set)'},
    repeats: {default: 2, help: 'evaluation passes (Monte Carlo over t and the flow)'},
    samples: {default: 10, help: 'sender samples per step of the n-step loss'},
    sampleSteps: {default: 100, help: 'Bayesian updates per generated image'},
    checkpointEvery: {default: 500, help: 'steps between checkpoints'},
    evalEvery: {default: 1000, help: 'steps between held-out loss points on the curve'},
    seed: {default: 1, help: 'seed of data order, flow noise and initialisation'},
    resume: {default: false, help: 'continue from the checkpoint in --out'},
    out: {default: 'examples/node/bfn/runs/fashion', help: 'output folder'},
  });
  await useBackend(opts.backend);
  fs.mkdirSync(opts.out, {recursive: true});
  const data = loadFashion();
  const nTrain = data.train.length / 784, nTest = Math.min(opts.test, data.test.length / 784);
  const bin = (g: number) => g >> 4;  // 256 grey levels -> 16 bins
  const centre = (k: number) => (2 * k + 1) / K - 1;
  console.log(`Fashion-MNIST: ${nTrain} training, ${nTest} held-out images, ${K} grey levels`);

  // baseline: independent categorical per pixel over the 16 levels, add-one smoothed
  const counts = new Float64Array(784 * K).fill(1);
  for (let i = 0; i < nTrain * 784; i++) counts[(i % 784) * K + bin(data.train[i])]++;
  const baseline = new Float64Array(nTest);
  for (let i = 0; i < nTest; i++) {
    let nll = 0;
    for (let d = 0; d < 784; d++) nll -= Math.log(counts[d * K + bin(data.test[i * 784 + d])] / (nTrain + K));
    baseline[i] = nll;
  }

  const network = mlpNetwork(784, 784 * 2, opts.hidden, opts.layers, opts.seed);
  const flow = new DiscretisedFlow({sigma1: Math.sqrt(1e-3), numBins: K});
  const bfn = new BFN(flow, network, {seed: opts.seed});
  console.log(`network: ${network.countParams()} parameters`);

  const testX = (from: number, to: number) =>
      tf.tensor2d(Float32Array.from(data.test.subarray(from * 784, to * 784), (g) => centre(bin(g))), [to - from, 784]);
  const evalCts = async (repeats: number) => {
    const all: number[] = [];
    for (let r = 0; r < repeats; r++) {
      all.push(...await perExample(nTest, 250, (a, b) => bfn.lossAt(testX(a, b), tf.randomUniform([b - a], 0, 1, 'float32', 1000 + r), false)));
    }
    return meanSE(all);
  };
  const batch = (rng: SeededRandom) => {
    const m = opts.batch, x = new Float32Array(m * 784);
    for (let j = 0; j < m; j++) {
      const img = Math.floor(rng.next() * nTrain);  // sampling with replacement: the RNG state is the data position
      for (let d = 0; d < 784; d++) x[j * 784 + d] = centre(bin(data.train[img * 784 + d]));
    }
    return tf.tensor2d(x, [m, 784]);
  };
  const perDim = 784 * Math.LN2;
  const {steps, seconds} = await train(bfn, {
    outDir: opts.out, minutes: opts.minutes, maxSteps: opts.steps, lr: opts.lr, resume: opts.resume,
    checkpointEvery: opts.checkpointEvery, seed: opts.seed, batch, evalEvery: opts.evalEvery,
    evaluate: async () => (await evalCts(1))[0] / perDim, unit: 'bits/dim', scale: 1 / perDim,
  });
  console.log(`trained ${steps} steps in ${(seconds / 60).toFixed(1)} min; evaluating on ${nTest} held-out images`);

  const results: Record<string, [number, number]> = {};
  results['continuous-time L^inf'] = await evalCts(opts.repeats);
  for (const n of [10, 100]) {
    const all: number[] = [];
    for (let r = 0; r < opts.repeats; r++) {
      all.push(...await perExample(nTest, 125, (a, b) => bfn.discreteTimeLoss(testX(a, b), n, {samples: opts.samples})));
    }
    results[`${n}-step L^n`] = meanSE(all);
  }
  const rec = meanSE(await perExample(nTest, 250, (a, b) => bfn.reconstructionLoss(testX(a, b))));
  results['reconstruction L^r'] = rec;
  results['L^inf + L^r (NLL bound)'] = [results['continuous-time L^inf'][0] + rec[0], Math.hypot(results['continuous-time L^inf'][1], rec[1])];
  results['L^100 + L^r (NLL bound)'] = [results['100-step L^n'][0] + rec[0], Math.hypot(results['100-step L^n'][1], rec[1])];
  results['independent categorical baseline'] = meanSE(baseline);
  const lines = ['| loss (held-out images) | bits/dim | nats/image |', '|---|---|---|'];
  for (const [name, [m, se]] of Object.entries(results)) {
    lines.push(`| ${name} | ${(m / perDim).toFixed(3)} +- ${(se / perDim).toFixed(3)} | ${m.toFixed(1)} |`);
  }
  const table = lines.join('\n');
  console.log(table);

  const images = bfn.sample(64, opts.sampleSteps);
  const v = await images.data();
  images.dispose();
  writeImageGrid(path.join(opts.out, 'samples.png'),
                 Array.from({length: 64}, (_, i) => Float32Array.from(v.subarray(i * 784, (i + 1) * 784), (c) => (c + 1) / 2)),
                 {width: 28, height: 28, cols: 8, scale: 2});
  fs.writeFileSync(path.join(opts.out, 'results.json'), JSON.stringify({
    steps, minutes: seconds / 60, params: network.countParams(), config: opts, results,
  }, null, 2));
  fs.writeFileSync(path.join(opts.out, 'results.md'), `${table}\n\n${steps} steps, ${(seconds / 60).toFixed(1)} min, ` +
                   `${network.countParams()} parameters, backend ${opts.backend}\n`);
  console.log(`wrote ${opts.out}/{loss.png, samples.png, results.json, results.md}`);
});
