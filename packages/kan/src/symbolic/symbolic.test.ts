import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends} from '@tfjs-ext/core/testing';
import {fitCoefficients} from '../grid/host';
import {kan, kanLayers} from '../layers/kan';
import {fitAffine, linearFit} from './fit';
import {SYMBOLIC_LIBRARY} from './library';
import {autoSymbolic, evaluateSymbolic, formatFormula} from './symbolic';

const lib = (name: string) => SYMBOLIC_LIBRARY.find((f) => f.name === name)!;

describeBackends('kan: symbolic fitting', ({backend}) => {
  if (backend === 'cpu') {
    it('fitAffine recovers a f(b x + c) + d', () => {
      const x = Float64Array.from({length: 101}, (_, i) => -1 + i / 50);
      const y = x.map((v) => 0.7 * Math.sin(2 * v + 0.3) - 0.2);
      const fit = fitAffine(lib('sin'), x, y);
      expect(fit.r2).to.be.greaterThan(1 - 1e-7);  // grid search over (b, c): measured 1 - 1.3e-8
      const pred = x.map((v) => fit.a * Math.sin(fit.b * v + fit.c) + fit.d);
      expect(Math.max(...pred.map((p, i) => Math.abs(p - y[i])))).to.be.lessThan(5e-4);
      expect(fitAffine(lib('x^2'), x, y).r2).to.be.lessThan(0.99);
      expect(linearFit(Float64Array.from([1, 2, 3]), Float64Array.from([3, 5, 7]))).to.deep.include({a: 2, d: 1});
    });
  }

  it('autoSymbolic names the function on each edge and prints the formula', async () => {
    // [2, 1] KAN whose edges are spline fits of sin(pi x) and y^2 (base branch off)
    const model = kan([2, 1], {gridSize: 20, seed: 1});
    const layer = kanLayers(model)[0];
    const knots = Float64Array.from((await layer.grid.read().data()).subarray(0, 27));
    const xs = Float64Array.from({length: 400}, (_, i) => -1 + i / 200);
    const coef = new Float32Array(2 * 23);
    coef.set(fitCoefficients(xs, xs.map((v) => Math.sin(Math.PI * v)), 1, knots, 3), 0);
    coef.set(fitCoefficients(xs, xs.map((v) => v * v), 1, knots, 3), 23);
    tf.tidy(() => {
      layer.splineCoef.write(tf.tensor(coef, [2, 23, 1]));
      layer.baseWeight.write(tf.zeros([2, 1]));
    });
    const x = tf.tensor2d(Float32Array.from({length: 256}, (_, i) => -1 + (i % 128) / 64 + (i < 128 ? 0 : 1 / 128)),
                          [128, 2]);
    const net = await autoSymbolic(model, x, {maxSamples: 128});
    expect(net.edges.map((e) => e.name)).to.deep.equal(['sin', 'x^2']);
    expect(Math.min(...net.edges.map((e) => e.r2))).to.be.greaterThan(0.9999);
    const formula = formatFormula(net, ['x', 'y'])[0];
    expect(formula).to.match(/sin\(.*x.*\)/).and.to.match(/\(.*y.*\)\^2/);
    const at = (a: number, b: number) => evaluateSymbolic(net, [a, b])[0];
    expect(Math.abs(at(0.3, -0.4) - (Math.sin(Math.PI * 0.3) + 0.16))).to.be.lessThan(1e-3);
    x.dispose();
    model.dispose();
  });
});
