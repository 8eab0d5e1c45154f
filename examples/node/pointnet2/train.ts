/**
 * PointNet++ on procedural point clouds: classification (10 classes) or part segmentation (tables, chairs,
 * lamps; 8 parts), then the trained model run on the Stanford bunny (npm `bunny`) sampled to a point cloud.
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/pointnet2/train.ts [--task=partseg] [--resume]
 *
 * Writes curves, the confusion matrix (classification) and the bunny's segmentation as PNG, a checkpoint every
 * epoch and `results.json` into --out (default examples/node/pointnet2/runs/<task>). The per-epoch metric is
 * measured on a validation set (its own seed); the test set is evaluated once, with the final model.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {initBackend} from '@tfjs-ext/core';
import {CLASSIFICATION_CLASSES, generatePointClouds, PART_CLASSES, PART_NAMES, PARTS_OF, pointnet2ClsSSG,
        pointnet2PartSeg, PointCloudSet, sampleMesh} from '@tfjs-ext/pointnet2';
import {FlagError, parseFlags, ProgressBar, runExample, TrainingCheckpoint, writeImageGrid, writeLinePlot,
        writeScatterPlot} from '../common';
import {confusionMatrix, formatConfusion, meanIoU} from './metrics';

const flags = parseFlags('PointNet++ (SSG) on procedural point clouds, CPU-sized by default', {
  task: {default: 'cls', help: 'cls (10-class classification) or partseg (part segmentation)'},
  backend: {default: 'wasm', help: 'tfjs backend (wasm: host kernels + XNNPACK matmuls)'},
  points: {default: 256, help: 'points per cloud'},
  train: {default: 3000, help: 'training clouds'},
  test: {default: 1000, help: 'test clouds (used once, after training)'},
  val: {default: 500, help: 'validation clouds (the per-epoch metric; another seed than train and test)'},
  fresh: {default: true, help: 'new augmented training clouds every epoch (epoch 1 uses --seed, epoch e seed + 10000 + e)'},
  minutes: {default: 0, help: 'wall-clock training budget in minutes: the cosine schedule follows the larger of step and time progress, training stops at the budget (0: no budget)'},
  epochs: {default: 12, help: 'epochs'},
  batch: {default: 32, help: 'batch size'},
  lr: {default: 2e-3, help: 'Adam learning rate (cosine decay to 5% over the run)'},
  width: {default: 0.25, help: 'MLP width multiplier (1 = the paper)'},
  npoints: {default: '64,16', help: 'centres of the two sampling levels (paper: 512,128)'},
  nsamples: {default: '16,32', help: 'neighbours per ball (paper: 32,64)'},
  radii: {default: '0.3,0.6', help: 'ball radii (paper: 0.2,0.4)'},
  seed: {default: 1, help: 'data and initialisation seed'},
  out: {default: '', help: 'output folder (default examples/node/pointnet2/runs/<task>)'},
  resume: {default: false, help: 'continue from the checkpoint in --out'},
});

const pair = (name: string, s: string): [number, number] => {
  const v = s.split(',').map(Number);
  if (v.length !== 2 || !v.every((x) => Number.isFinite(x) && x > 0)) throw new FlagError(`--${name} expects two positive numbers, got '${s}'`);
  return [v[0], v[1]];
};

/** Shuffled batch order of one epoch, from the seed and the epoch (so a resumed run sees the same batches). */
function epochOrder(count: number, seed: number, epoch: number): number[] {
  const r = (() => { let s = (seed * 7919 + epoch * 104729) >>> 0; return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32); })();
  const order = Array.from({length: count}, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function batchOf(set: PointCloudSet, idx: number[]) {
  const n = set.numPoints;
  const xyz = new Float32Array(idx.length * n * 3);
  idx.forEach((c, i) => xyz.set(set.points.subarray(c * n * 3, (c + 1) * n * 3), i * n * 3));
  return tf.tensor3d(xyz, [idx.length, n, 3]);
}

/** One-hot float32 built on the host (tf.oneHot float32 is broken on wasm, TFJS-TRAPS.md). */
function oneHot(labels: ArrayLike<number>, depth: number, shape: number[]): tf.Tensor {
  const v = new Float32Array(labels.length * depth);
  for (let i = 0; i < labels.length; i++) v[i * depth + labels[i]] = 1;
  return tf.tensor(v, [...shape, depth]);
}

/** Predictions on `set`: class indices (cls) or per-point parts restricted to each cloud's category (partseg). */
async function predict(model: tf.LayersModel, set: PointCloudSet, batch: number, partseg: boolean): Promise<Int32Array> {
  const out = new Int32Array(partseg ? set.count * set.numPoints : set.count);
  for (let start = 0; start < set.count; start += batch) {
    const idx = Array.from({length: Math.min(batch, set.count - start)}, (_, i) => start + i);
    const x = batchOf(set, idx);
    const logits = model.predict(x) as tf.Tensor;
    const v = await logits.data();
    tf.dispose([x, logits]);
    if (!partseg) {
      const k = set.classNames.length;
      idx.forEach((c, i) => {
        let best = 0;
        for (let j = 1; j < k; j++) if (v[i * k + j] > v[i * k + best]) best = j;
        out[c] = best;
      });
    } else {
      const p = PART_NAMES.length, n = set.numPoints;
      idx.forEach((c, i) => {
        const allowed = PARTS_OF[set.classNames[set.labels[c]]];
        for (let q = 0; q < n; q++) {
          const o = (i * n + q) * p;
          let best = allowed[0];
          for (const j of allowed) if (v[o + j] > v[o + best]) best = j;
          out[c * n + q] = best;
        }
      });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const partseg = flags.task === 'partseg';
  if (!partseg && flags.task !== 'cls') throw new FlagError(`--task must be cls or partseg, got '${flags.task}'`);
  const out = flags.out || path.join('examples', 'node', 'pointnet2', 'runs', flags.task);
  fs.mkdirSync(out, {recursive: true});
  const status = await initBackend(flags.backend as never);
  if (!status.available) throw new FlagError(`backend ${flags.backend} unavailable: ${status.reason}`);
  const options = {width: flags.width, npoints: pair('npoints', flags.npoints), nsamples: pair('nsamples', flags.nsamples),
                   radii: pair('radii', flags.radii)};
  const classNames = partseg ? PART_CLASSES : CLASSIFICATION_CLASSES;
  console.log(`task ${flags.task}, backend ${flags.backend}, ${flags.points} points, model options ${JSON.stringify(options)}`);
  let t0 = performance.now();
  const trainSet = (epoch: number) => generatePointClouds({count: flags.train, numPoints: flags.points, classNames,
                                                           seed: flags.fresh && epoch > 0 ? flags.seed + 10000 + epoch : flags.seed});
  let train = trainSet(0);
  const test = generatePointClouds({count: flags.test, numPoints: flags.points, seed: flags.seed + 1000, classNames});
  const val = generatePointClouds({count: flags.val, numPoints: flags.points, seed: flags.seed + 2000, classNames});
  console.log(`data: ${train.count} train${flags.fresh ? ' (new every epoch)' : ''} / ${val.count} validation / ` +
              `${test.count} test clouds in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const numOut = partseg ? PART_NAMES.length : classNames.length;
  const stepsPerEpoch = Math.floor(train.count / flags.batch);
  const totalSteps = stepsPerEpoch * flags.epochs;
  const optimizer = tf.train.adam(flags.lr);
  const ckpt = new TrainingCheckpoint(path.join(out, 'checkpoint'));
  let model: tf.LayersModel;
  let epoch0 = 0;
  let history: {step: number; loss: number}[] = [];
  let evals: {epoch: number; metric: number; seconds?: number; load1?: number}[] = [];
  let secondsBefore = 0;  // training wall time of the runs this one resumes
  if (flags.resume) {
    if (!ckpt.exists()) throw new FlagError(`--resume: no checkpoint in ${ckpt.dir}`);
    const saved = await ckpt.load({optimizers: {adam: optimizer}});
    model = saved.models.model;
    ({epoch: epoch0, history, evals, trainSeconds: secondsBefore = 0} = saved.state as
        {epoch: number; history: typeof history; evals: typeof evals; trainSeconds?: number});
    console.log(`resumed after epoch ${epoch0}`);
  } else {
    model = partseg ? pointnet2PartSeg(numOut, options) : pointnet2ClsSSG(numOut, options);
  }
  console.log(`parameters: ${model.countParams()}`);

  const bar = new ProgressBar(totalSteps, {startAt: epoch0 * stepsPerEpoch});
  t0 = performance.now();
  let stepTimes = 0, stepsRun = 0, outOfTime = false, epochsRun = epoch0;
  const budgetSeconds = flags.minutes * 60;
  const elapsed = () => secondsBefore + (performance.now() - t0) / 1000;
  for (let epoch = epoch0; epoch < flags.epochs && !outOfTime; epoch++) {
    if (flags.fresh && epoch > 0) train = trainSet(epoch);
    const order = epochOrder(train.count, flags.seed, epoch);
    for (let s = 0; s < stepsPerEpoch; s++) {
      const step = epoch * stepsPerEpoch + s;
      // cosine decay of the learning rate to 5%, over the steps or the time budget, whichever runs out first
      const progress = Math.max(step / totalSteps, budgetSeconds > 0 ? elapsed() / budgetSeconds : 0);
      if (progress >= 1) {
        outOfTime = true;
        break;
      }
      (optimizer as unknown as {learningRate: number}).learningRate =
          flags.lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * progress)));
      const idx = order.slice(s * flags.batch, (s + 1) * flags.batch);
      const x = batchOf(train, idx);
      const y = partseg ? oneHot(idx.flatMap((c) => Array.from(train.parts.subarray(c * train.numPoints, (c + 1) * train.numPoints))),
                                 numOut, [idx.length, train.numPoints]) :
                          oneHot(idx.map((c) => train.labels[c]), numOut, [idx.length]);
      const ts = performance.now();
      const loss = optimizer.minimize(() => {
        const logits = model.apply(x, {training: true}) as tf.Tensor;
        return tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1))) as tf.Scalar;
      }, true) as tf.Scalar;
      const lv = (await loss.data())[0];
      stepTimes += performance.now() - ts;
      stepsRun++;
      tf.dispose([x, y, loss]);
      history.push({step: step + 1, loss: lv});
      bar.update(step + 1, `epoch ${epoch + 1} loss ${lv.toFixed(3)} ${(stepTimes / stepsRun).toFixed(0)} ms/step`);
    }
    const vpred = await predict(model, val, 64, partseg);
    const metric = partseg ? meanIoU(vpred, val).instance : vpred.reduce((a, p, i) => a + (p === val.labels[i] ? 1 : 0), 0) / val.count;
    evals.push({epoch: epoch + 1, metric, seconds: elapsed(), load1: os.loadavg()[0]});
    epochsRun = epoch + 1;
    console.log(`\nepoch ${epoch + 1}${outOfTime ? ' (stopped at the time budget)' : ''}: validation ` +
                `${partseg ? 'instance mIoU' : 'accuracy'} ${(100 * metric).toFixed(2)}% (${elapsed().toFixed(0)} s)`);
    await ckpt.save({models: {model}, optimizers: {adam: optimizer}, state: {epoch: epoch + 1, history, evals, trainSeconds: elapsed()}});
  }
  const trainSeconds = (performance.now() - t0) / 1000;

  await writeLinePlot(path.join(out, 'loss.png'), [{name: 'train loss', points: history.map((h) => [h.step, h.loss])}],
                      {title: `PointNet++ ${flags.task}: training loss`, x: 'step', y: 'cross-entropy', logY: true});
  await writeLinePlot(path.join(out, 'test.png'), [{name: partseg ? 'validation instance mIoU' : 'validation accuracy',
                                                    points: evals.map((e) => [e.epoch, 100 * e.metric])}],
                      {title: `PointNet++ ${flags.task}: validation metric per epoch`, x: 'epoch', y: '%'});
  const pred = await predict(model, test, 64, partseg);
  const results: Record<string, unknown> = {
    task: flags.task, backend: flags.backend, points: flags.points, train: flags.train, val: flags.val, test: flags.test,
    freshTrainingClouds: flags.fresh, epochs: epochsRun, epochsPlanned: flags.epochs, budgetMinutes: flags.minutes,
    stoppedAtBudget: outOfTime, batch: flags.batch, lr: flags.lr, modelOptions: options, parameters: model.countParams(),
    meanStepMs: stepsRun > 0 ? stepTimes / stepsRun : null, trainSecondsThisRun: trainSeconds,
    trainSecondsTotal: secondsBefore + trainSeconds, processCpuSeconds: process.cpuUsage().user / 1e6, evals,
  };
  if (partseg) {
    const iou = meanIoU(pred, test);
    Object.assign(results, {instanceMIoU: iou.instance, classMIoU: iou.perClass});
    console.log(`part segmentation: instance mIoU ${(100 * iou.instance).toFixed(2)}%`, iou.perClass);
  } else {
    const cm = confusionMatrix(pred, test.labels, classNames.length);
    const acc = pred.reduce((a, p, i) => a + (p === test.labels[i] ? 1 : 0), 0) / test.count;
    results.accuracy = acc;
    results.confusion = cm;
    console.log(`test accuracy ${(100 * acc).toFixed(2)}%\n${formatConfusion(cm, classNames)}`);
    // rows: true class, columns: predicted; darker = more (row-normalised)
    const img = cm.flatMap((row) => { const s = row.reduce((a, b) => a + b, 0) || 1; return row.map((v) => 1 - v / s); });
    writeImageGrid(path.join(out, 'confusion.png'), [img], {width: classNames.length, height: classNames.length, scale: 24});
  }

  // the Stanford bunny (a real scan) sampled to a point cloud
  const bunny = await import('bunny');
  const cloud = sampleMesh(bunny.positions, bunny.cells, flags.points, 7);
  const x = tf.tensor3d(cloud, [1, flags.points, 3]);
  const logits = model.predict(x) as tf.Tensor;
  const v = await logits.data();
  if (partseg) {
    const series = PART_NAMES.map((name, p) => ({name, points: [] as Array<[number, number]>}));
    for (let q = 0; q < flags.points; q++) {
      let best = 0;
      for (let j = 1; j < numOut; j++) if (v[q * numOut + j] > v[q * numOut + best]) best = j;
      series[best].points.push([cloud[q * 3], cloud[q * 3 + 1]]);
    }
    await writeScatterPlot(path.join(out, 'bunny_parts.png'), series.filter((s) => s.points.length > 0),
                           {title: 'Stanford bunny: predicted parts (x-y projection)', x: 'x', y: 'y', pointSize: 10});
  } else {
    const probs = Array.from(tf.tidy(() => tf.softmax(logits)).dataSync());
    const top = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    results.bunny = top.map(([p, i]) => ({class: classNames[i], probability: p}));
    console.log('bunny (not one of the classes) looks most like:', results.bunny);
    await writeScatterPlot(path.join(out, 'bunny.png'), [{name: 'bunny', points: Array.from({length: flags.points},
        (_, q) => [cloud[q * 3], cloud[q * 3 + 1]] as [number, number])}], {title: 'Stanford bunny point cloud', x: 'x', y: 'y', pointSize: 10});
  }
  tf.dispose([x, logits]);
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(results, null, 1));
  console.log(`wrote ${out}/results.json, loss.png, test.png${partseg ? ', bunny_parts.png' : ', confusion.png, bunny.png'}`);
}

runExample(main);
