/**
 * KAN: fits a 2-D formula live in the page (training runs in this tab, on the selected backend), draws the
 * learned edge functions as curves and prints the recovered symbolic formula.
 */
import * as tf from '@tensorflow/tfjs';
import {autoSymbolic, formatFormula, kanLayers, layerInputs} from '@tfjs-ext/kan';
import {lineChart} from '../plot';
import {action, demo, el, Page} from '../shell';
import {fitKAN, KAN_FORMULA, KAN_RMSE_TARGET, kanDataset, rmse} from './kan_fit';

/** Each edge's function over its input's range: [{label, xs, ys}] for every (layer, input, output). */
async function edgeCurves(model: tf.LayersModel, x: tf.Tensor2D, points = 120) {
  const curves: Array<{label: string; xs: number[]; ys: number[]}> = [];
  const inputs = layerInputs(model, x);
  try {
    for (const [l, layer] of kanLayers(model).entries()) {
      const h = await inputs[l].data();
      const nIn = inputs[l].shape[1];
      for (let i = 0; i < nIn; i++) {
        let lo = Infinity, hi = -Infinity;
        for (let s = i; s < h.length; s += nIn) { lo = Math.min(lo, h[s]); hi = Math.max(hi, h[s]); }
        const xs = Array.from({length: points}, (_, p) => lo + ((hi - lo) * p) / (points - 1));
        const grid = tf.tensor2d(xs.flatMap((v) => Array(nIn).fill(v)), [points, nIn]);  // input i sweeps its range
        const acts = layer.edgeActivations(grid);  // [points, nIn, nOut]
        const values = await acts.data();
        tf.dispose([grid, acts]);
        for (let j = 0; j < layer.units; j++) {
          curves.push({label: `layer ${l}: input ${i} -> ${j}`, xs,
                       ys: xs.map((_, p) => values[(p * nIn + i) * layer.units + j])});
        }
      }
    }
  } finally {
    tf.dispose(inputs);
  }
  return curves;
}

export const kanPage: Page = {
  id: 'kan',
  title: 'KAN',
  async mount(root) {
    const button = el('button', {id: 'fit'}, 'Fit');
    const status = el('p', {class: 'stat', id: 'kan-status'}, 'not trained yet');
    const lossBox = el('div');
    const curvesBox = el('div', {class: 'plots'});
    const formula = el('p', {class: 'formula', id: 'kan-formula'});
    root.append(el('div', {class: 'card'},
        el('h2', {}, 'Kolmogorov-Arnold Network'),
        el('p', {class: 'muted'}, `A [2, 1, 1] KAN learns f(x, y) = ${KAN_FORMULA} from 1000 samples on ` +
           `[-1, 1]^2, trained here with L-BFGS (float32, on this backend): grid 5, then refined to grid 10. ` +
           `Target: test RMSE below ${KAN_RMSE_TARGET}.`),
        el('div', {class: 'row'}, button), status, lossBox,
        el('h3', {}, 'learned edge functions'), curvesBox,
        el('h3', {}, 'symbolic formula'), formula));
    const chart = lineChart(lossBox, 'training loss (MSE)', ['loss'], {logY: true, xLabel: 'L-BFGS step'});

    const run = async () => {
      button.disabled = true;
      const train = kanDataset(1000, 1), test = kanDataset(1000, 2);
      const steps: number[] = [], losses: number[] = [];
      const t0 = performance.now();
      const model = await fitKAN(train, async ({grid, step, loss}) => {
        steps.push(step);
        losses.push(loss);
        chart.set(steps, losses);
        status.textContent = `grid ${grid}, step ${step}: loss ${loss.toExponential(3)}`;
        await tf.nextFrame();  // let the page draw
      });
      const seconds = (performance.now() - t0) / 1000;
      const testRmse = await rmse(model, test.x, test.y);
      status.textContent = `test RMSE ${testRmse.toExponential(3)} (target < ${KAN_RMSE_TARGET}: ` +
          `${testRmse < KAN_RMSE_TARGET ? 'met' : 'missed'}) after ${steps.length} L-BFGS steps, ${seconds.toFixed(1)} s`;
      curvesBox.replaceChildren();
      for (const c of await edgeCurves(model, train.x)) {
        const box = el('div');
        curvesBox.append(box);
        lineChart(box, c.label, ['phi'], {width: 300, height: 180}).set(c.xs, c.ys);
      }
      const net = await autoSymbolic(model, train.x);
      const text = formatFormula(net, ['x', 'y'])[0];
      formula.textContent = `f(x, y) = ${text}`;
      demo.result.kan = {testRmse, target: KAN_RMSE_TARGET, formula: text, steps: steps.length, seconds};
      tf.dispose([train.x, train.y, test.x, test.y]);
      model.dispose();
      button.disabled = false;
    };
    button.onclick = () => void action('KAN fit', run);
    demo.actions.fit = async () => { await action('KAN fit', run); return demo.result.kan; };
  },
};
