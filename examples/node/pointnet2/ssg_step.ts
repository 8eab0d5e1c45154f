/**
 * Times the full (paper-size) SSG classifier's training step and inference on one backend at a given batch and
 * point count: `node --conditions=tfjs-ext-source --import tsx examples/node/pointnet2/ssg_step.ts --batch=8`.
 * (On wasm batch 16 does not fit the 4 GiB heap for training: see the bench notes; time it on cpu:
 * `--backend=cpu --batch=16 --warmup=0 --steps=1`.)
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import {initBackend} from '@tfjs-ext/core';
import {pointnet2ClsSSG} from '@tfjs-ext/pointnet2';
import {parseFlags, runExample} from '../common';

const flags = parseFlags('Full SSG step time', {
  backend: {default: 'wasm', help: 'backend'}, batch: {default: 8, help: 'batch'}, points: {default: 1024, help: 'points'},
  steps: {default: 2, help: 'timed steps after the warm-up steps'},
  warmup: {default: 1, help: 'untimed warm-up steps'},
});

runExample(async () => {
  const status = await initBackend(flags.backend as never);
  if (!status.available) throw new Error(`backend ${flags.backend} unavailable: ${status.reason}`);
  const model = pointnet2ClsSSG(10);
  const x = tf.randomUniform([flags.batch, flags.points, 3], -1, 1);
  const labels = new Float32Array(flags.batch * 10);
  for (let i = 0; i < flags.batch; i++) labels[i * 10 + (i % 10)] = 1;
  const y = tf.tensor2d(labels, [flags.batch, 10]);
  const optimizer = tf.train.adam(1e-3);
  const step = async () => {
    const loss = optimizer.minimize(() => tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(model.apply(x, {training: true}) as tf.Tensor)), -1))) as tf.Scalar, true)!;
    await loss.data();
    loss.dispose();
  };
  const time = async (fn: () => Promise<void>) => {
    const t = performance.now(), c = process.cpuUsage();
    await fn();
    const cpu = process.cpuUsage(c);
    return {wallMs: performance.now() - t, cpuMs: (cpu.user + cpu.system) / 1000};
  };
  const load = () => os.loadavg()[0].toFixed(1);
  console.log(`# ${tf.getBackend()}, batch ${flags.batch}, ${flags.points} points, load average ${load()} at the start`);
  for (let i = 0; i < flags.warmup; i++) await step();
  for (let i = 0; i < flags.steps; i++) console.log('train step', JSON.stringify({...await time(step), load1: load()}));
  const infer = async () => { const p = model.predict(x) as tf.Tensor; await p.data(); p.dispose(); };
  if (flags.warmup > 0) await infer();
  console.log('inference', JSON.stringify({...await time(infer), load1: load()}));
});
