/**
 * Bayesian Flow Networks: the sampling process animated step by step. Binarised digits: each pixel's
 * probability (the input distribution theta after i Bayesian updates) sharpens from 0.5 to a digit, then the
 * final output is the mode. 2-D: the input means of many samples flow from the prior N(0, I) onto two moons.
 * The networks are the small MLPs of bfn_models.ts, trained by export-models.ts; sampling is `BFN.sample`.
 */
import * as tf from '@tensorflow/tfjs';
import {BFN, CategoricalParams, ContinuousFlow, DiscreteFlow, GaussianParams} from '@tfjs-ext/bfn';
import {action, demo, el, Page} from '../shell';
import {DIGIT_SIDE, digitFlow, pointFlow, twoMoons} from './bfn_models';

/**
 * `BFN.sample` reports only the step index; these flows keep what each Bayesian update produced (the page
 * draws the sampler's own intermediate parameters). `frames` holds copies the caller disposes.
 */
class RecordingDiscreteFlow extends DiscreteFlow {
  frames: tf.Tensor[] = [];
  override update(params: CategoricalParams, y: tf.Tensor): CategoricalParams {
    const next = super.update(params, y);
    this.frames.push(tf.keep(tf.softmax(next.logits)));  // theta [count, dim, 2]
    return next;
  }
}
class RecordingContinuousFlow extends ContinuousFlow {
  frames: tf.Tensor[] = [];
  override update(params: GaussianParams, y: tf.Tensor, alpha: number): GaussianParams {
    const next = super.update(params, y, alpha);
    this.frames.push(tf.keep(tf.clone(next.mu)));  // mu [count, 2]
    return next;
  }
}

const DIGITS = 32, COLUMNS = 8, SCALE = 5, POINTS = 600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Draws `count` images (values in [0, 1], `DIGIT_SIDE`^2 each) as a grid on `canvas`. */
function drawDigits(canvas: HTMLCanvasElement, values: ArrayLike<number>): void {
  const ctx = canvas.getContext('2d')!;
  const cell = DIGIT_SIDE * SCALE + 4;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let n = 0; n < DIGITS; n++) {
    const ox = 2 + (n % COLUMNS) * cell, oy = 2 + Math.floor(n / COLUMNS) * cell;
    for (let p = 0; p < DIGIT_SIDE * DIGIT_SIDE; p++) {
      const grey = Math.round(255 * (1 - values[n * DIGIT_SIDE * DIGIT_SIDE + p]));
      ctx.fillStyle = `rgb(${grey},${grey},${grey})`;
      ctx.fillRect(ox + (p % DIGIT_SIDE) * SCALE, oy + Math.floor(p / DIGIT_SIDE) * SCALE, SCALE, SCALE);
    }
  }
}

/** Draws the data (grey) and the current samples (blue) on [-1.6, 1.6]^2. */
function drawPoints(canvas: HTMLCanvasElement, data: Float32Array, samples: ArrayLike<number>): void {
  const ctx = canvas.getContext('2d')!;
  const {width, height} = canvas;
  const px = (x: number) => ((x + 1.6) / 3.2) * width, py = (y: number) => height - ((y + 1.6) / 3.2) * height;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = '#dde';
  ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
  ctx.beginPath();
  ctx.moveTo(px(0), 0); ctx.lineTo(px(0), height); ctx.moveTo(0, py(0)); ctx.lineTo(width, py(0));
  ctx.stroke();
  for (const [values, color, r] of [[data, '#c9ccd6', 1.5], [samples, '#2f6fdf', 2.2]] as const) {
    ctx.fillStyle = color;
    for (let i = 0; i + 1 < values.length; i += 2) {
      ctx.beginPath();
      ctx.arc(px(values[i]), py(values[i + 1]), r, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

export const bfnPage: Page = {
  id: 'bfn',
  title: 'BFN',
  async mount(root) {
    const [digitNet, pointNet] = await Promise.all([tf.loadLayersModel('models/bfn/digits/model.json'),
                                                   tf.loadLayersModel('models/bfn/points/model.json')]);
    const meta = await (await fetch('models/bfn/meta.json')).json() as
        {training: {digits: {steps: number}; points: {steps: number}}; digits: number};
    const steps = el('input', {id: 'bfn-steps', type: 'number', min: '2', max: '200', value: '25', style: 'width:60px'});
    const button = el('button', {id: 'bfn-sample'}, 'Sample');
    const status = el('p', {class: 'stat', id: 'bfn-status'});
    const cell = DIGIT_SIDE * SCALE + 4;
    const digitCanvas = el('canvas', {id: 'bfn-digits', width: String(COLUMNS * cell + 4),
                                      height: String((DIGITS / COLUMNS) * cell + 4)});
    const pointCanvas = el('canvas', {id: 'bfn-points', width: '360', height: '360'});
    const data = twoMoons(POINTS, 7);
    root.append(
        el('div', {class: 'card'},
           el('h2', {}, 'Bayesian Flow Networks: sampling step by step'),
           el('p', {class: 'muted'}, `Sampling starts from the prior (every pixel 0.5, every point at the origin ` +
              `with unit variance) and makes n Bayesian updates, each from a noisy sample the network's output ` +
              `distribution sends with growing accuracy. The digits network (MLP, trained ${meta.training.digits.steps} ` +
              `steps on ${meta.digits} binarised 14 x 14 MNIST digits) and the 2-D network (two moons, ` +
              `${meta.training.points.steps} steps) were trained in Node by export-models.ts.`),
           el('div', {class: 'row'}, 'steps n', steps, button), status),
        el('div', {class: 'card'}, el('h3', {}, 'binarised digits: P(pixel = 1) after each update, then the output mode'),
           digitCanvas),
        el('div', {class: 'card'}, el('h3', {}, '2-D continuous data: input means flowing from the prior to the data'),
           pointCanvas));

    const run = async () => {
      const n = Math.max(2, Math.min(200, Math.floor(Number(steps.value))));
      button.disabled = true;
      const dFlow = new RecordingDiscreteFlow({numClasses: 2, sqrtBeta1: digitFlow().sqrtBeta1});
      const pFlow = new RecordingContinuousFlow({sigma1: pointFlow().sigma1});
      const frames: {digits: Float32Array[]; points: Float32Array[]} = {digits: [], points: []};
      try {
        const digitBFN = new BFN(dFlow, digitNet, {seed: 1}), pointBFN = new BFN(pFlow, pointNet, {seed: 2});
        const digits = digitBFN.sample(DIGITS, n);  // [DIGITS, 196] int32
        const points = pointBFN.sample(POINTS / 2, n);  // [POINTS / 2, 2]
        // The networks' continuous-time loss on their own samples (the fused loss ops, one t per sample).
        const losses = tf.tidy(() => tf.stack([tf.mean(digitBFN.loss(digits)), tf.mean(pointBFN.loss(points))]));
        const [digitLoss, pointLoss] = await losses.data();
        losses.dispose();
        for (const theta of dFlow.frames) {  // P(pixel = 1): the second class of theta [DIGITS, 196, 2]
          const p = tf.tidy(() => tf.reshape(tf.slice(theta, [0, 0, 1], [-1, -1, 1]), [-1]));
          frames.digits.push(await p.data() as Float32Array);
          p.dispose();
        }
        for (const mu of pFlow.frames) frames.points.push(await mu.data() as Float32Array);
        const finalDigits = await digits.data() as Int32Array, finalPoints = await points.data() as Float32Array;
        const result = {
          digitShape: digits.shape, pointShape: points.shape, frames: frames.digits.length,
          // mean |change| of P(pixel = 1) and of the 2-D means between the first and the last update
          digitChange: frames.digits[0].reduce((a, v, i) => a + Math.abs(v - frames.digits[n - 1][i]), 0) / frames.digits[0].length,
          pointChange: frames.points[0].reduce((a, v, i) => a + Math.abs(v - frames.points[n - 1][i]), 0) / frames.points[0].length,
          binary: finalDigits.every((v) => v === 0 || v === 1), onFraction: finalDigits.reduce((a, v) => a + v, 0) / finalDigits.length,
          finite: finalPoints.every(Number.isFinite), digitLoss, pointLoss,
        };
        tf.dispose([digits, points]);
        for (let i = 0; i < n; i++) {  // the animation: one frame per Bayesian update
          drawDigits(digitCanvas, frames.digits[i]);
          drawPoints(pointCanvas, data, frames.points[i]);
          status.textContent = `update ${i + 1} / ${n}`;
          await sleep(Math.max(20, 1500 / n));
        }
        drawDigits(digitCanvas, finalDigits);
        drawPoints(pointCanvas, data, finalPoints);
        status.textContent = `${n} updates; shown: the final output mode (digits ${result.digitShape.join(' x ')}, ` +
            `binary: ${result.binary}; points ${result.pointShape.join(' x ')}) on ${tf.getBackend()}. Continuous-time ` +
            `loss of these samples: digits ${digitLoss.toFixed(1)}, points ${pointLoss.toFixed(2)} nats each.`;
        demo.result.bfn = result;
      } finally {
        tf.dispose([...dFlow.frames, ...pFlow.frames]);
        button.disabled = false;
      }
    };
    button.onclick = () => void action('BFN sampling', run);
    demo.actions.sample = async () => { await action('BFN sampling', run); return demo.result.bfn; };
    drawDigits(digitCanvas, new Float32Array(DIGITS * DIGIT_SIDE * DIGIT_SIDE).fill(0.5));
    drawPoints(pointCanvas, data, []);
  },
};
