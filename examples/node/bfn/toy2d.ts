/**
 * 2-D continuous data with a continuous BFN (sigma1 = 0.01) and a small MLP: two moons or a ring of 8 Gaussians,
 * scaled into [-0.9, 0.9]^2. Writes a scatter of 10k samples next to 10k data points (scatter.png), the loss
 * curve (loss.png), and the sliced Wasserstein distance (SW2, 256 directions) of samples vs data against that of
 * two independent draws of the data (the noise floor at this sample size).
 *
 *   nice -n 5 node --conditions=tfjs-ext-source --import tsx examples/node/bfn/toy2d.ts [--data ring] [--resume]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {BFN, ContinuousFlow} from '@tfjs-ext/bfn';
import {parseFlags, runExample, SeededRandom, writeScatterPlot} from '../common';
import {mlpNetwork, train, useBackend} from './common';

/** `n` points of `kind` (float32 pairs, row-major). */
function draw(kind: string, n: number, rng: SeededRandom): Float32Array {
  const out = new Float32Array(2 * n);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))) * Math.cos(2 * Math.PI * rng.next());
  for (let i = 0; i < n; i++) {
    let x: number, y: number;
    if (kind === 'moons') {
      const a = Math.PI * rng.next();
      if (rng.next() < 0.5) [x, y] = [Math.cos(a), Math.sin(a)];
      else [x, y] = [1 - Math.cos(a), 0.5 - Math.sin(a)];
      x = (x - 0.5) * 0.55 + 0.05 * normal();
      y = (y - 0.25) * 0.55 + 0.05 * normal();
    } else if (kind === 'ring') {
      const c = Math.floor(rng.next() * 8) * Math.PI / 4;
      x = 0.7 * Math.cos(c) + 0.06 * normal();
      y = 0.7 * Math.sin(c) + 0.06 * normal();
    } else {
      throw new Error(`--data must be moons or ring, got ${kind}`);
    }
    out[2 * i] = Math.max(-0.99, Math.min(0.99, x));
    out[2 * i + 1] = Math.max(-0.99, Math.min(0.99, y));
  }
  return out;
}

/** Sliced Wasserstein-2 distance between two equal-size 2-D point sets over `dirs` random directions. */
function slicedWasserstein(a: Float32Array, b: Float32Array, dirs: number, rng: SeededRandom): number {
  const n = a.length / 2;
  let total = 0;
  const pa = new Float64Array(n), pb = new Float64Array(n);
  for (let k = 0; k < dirs; k++) {
    const th = Math.PI * rng.next(), c = Math.cos(th), s = Math.sin(th);
    for (let i = 0; i < n; i++) {
      pa[i] = c * a[2 * i] + s * a[2 * i + 1];
      pb[i] = c * b[2 * i] + s * b[2 * i + 1];
    }
    pa.sort();
    pb.sort();
    for (let i = 0; i < n; i++) total += (pa[i] - pb[i]) ** 2;
  }
  return Math.sqrt(total / (dirs * n));
}

runExample(async () => {
  const opts = parseFlags('toy2d.ts: a continuous BFN on 2-D points', {
    backend: {default: 'wasm', help: 'tfjs backend'},
    data: {default: 'moons', help: 'moons | ring'},
    minutes: {default: 6, help: 'training time budget (minutes)'},
    steps: {default: 4000, help: 'maximum optimiser steps'},
    batch: {default: 256, help: 'batch size'},
    lr: {default: 2e-3, help: 'Adam learning rate'},
    hidden: {default: 128, help: 'hidden units per layer'},
    layers: {default: 3, help: 'hidden layers'},
    sigma1: {default: 0.01, help: 'final flow standard deviation'},
    count: {default: 10000, help: 'samples drawn (and data points compared)'},
    sampleSteps: {default: 200, help: 'Bayesian updates per sample'},
    checkpointEvery: {default: 1000, help: 'steps between checkpoints'},
    seed: {default: 1, help: 'seed'},
    resume: {default: false, help: 'continue from the checkpoint in --out'},
    out: {default: '', help: 'output folder (default examples/node/bfn/runs/toy2d-<data>)'},
  });
  await useBackend(opts.backend);
  const out = opts.out || `examples/node/bfn/runs/toy2d-${opts.data}`;
  fs.mkdirSync(out, {recursive: true});
  draw(opts.data, 1, new SeededRandom(0));  // validates --data before training
  const network = mlpNetwork(2, 2, opts.hidden, opts.layers, opts.seed);
  const bfn = new BFN(new ContinuousFlow({sigma1: opts.sigma1}), network, {seed: opts.seed});
  const {steps, seconds} = await train(bfn, {
    outDir: out, minutes: opts.minutes, maxSteps: opts.steps, lr: opts.lr, resume: opts.resume,
    checkpointEvery: opts.checkpointEvery, seed: opts.seed, evalEvery: 1e9, evaluate: async () => 0,
    batch: (rng) => tf.tensor2d(draw(opts.data, opts.batch, rng), [opts.batch, 2]), unit: 'nats/point',
  });
  console.log(`trained ${steps} steps in ${(seconds / 60).toFixed(1)} min; sampling ${opts.count} points`);
  const samples = bfn.sample(opts.count, opts.sampleSteps);
  const s = await samples.data() as Float32Array;
  samples.dispose();
  const rng = new SeededRandom(777);
  const data = draw(opts.data, opts.count, rng), fresh = draw(opts.data, opts.count, rng);
  const sw = slicedWasserstein(s, data, 256, new SeededRandom(5));
  const floor = slicedWasserstein(fresh, data, 256, new SeededRandom(5));
  const pts = (v: Float32Array) => Array.from({length: v.length / 2}, (_, i) => [v[2 * i], v[2 * i + 1]] as [number, number]);
  await writeScatterPlot(path.join(out, 'scatter.png'), [{name: 'data', points: pts(data)}, {name: `BFN samples (${opts.sampleSteps} steps)`, points: pts(s)}],
                         {panels: true, title: `${opts.data}: ${opts.count} points each`, x: 'x', y: 'y', pointSize: 2});
  const result = {data: opts.data, steps, minutes: seconds / 60, swSamplesVsData: sw, swDataVsFreshData: floor,
                  config: opts};
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(result, null, 2));
  console.log(`sliced Wasserstein-2: samples vs data ${sw.toFixed(4)}, fresh data vs data ${floor.toFixed(4)}`);
  console.log(`wrote ${out}/{scatter.png, loss.png, results.json}`);
});
