/**
 * KAN benchmarks: the B-spline basis kernel vs its composite (forward, and forward + backward in x), and a
 * KANLinear layer's forward + backward vs a Dense layer with the same parameter count, and one L-BFGS evaluation
 * (loss + gradient) of the function-fitting [2, 1, 1] KAN on the tfjs graph vs the float64 host objective.
 */
import * as tf from '@tensorflow/tfjs';
import {withCompositeOnly} from '@tfjs-ext/core';
import {BenchRow, BenchSuite, runCase, withKernelsRegistered} from '@tfjs-ext/core/bench';
import {bsplineBasisDerivativeHostKernels, bsplineBasisHostKernels} from './bspline/host';
import {BSPLINE_BASIS, bsplineBasis} from './bspline/op';
import {uniformKnots} from './bspline/reference';
import {KANFloat64MSE} from './float64/kan_float64';
import {kan} from './layers/kan';
import {KANLinear} from './layers/kan_linear';

const G = 5, K = 3;

/**
 * On tensorflow (tfjs-node) the rows of the host kernels (one JS thread) run them registered there for the
 * call, whether or not the op registers them (it does only where they win).
 */
function onTensorflow<T>(fn: () => T): T {
  return withKernelsRegistered([
    {kernelName: BSPLINE_BASIS, backendName: 'tensorflow', kernelFunc: bsplineBasisHostKernels.cpu!},
    {kernelName: 'TfjsExtBSplineBasisDerivative', backendName: 'tensorflow',
     kernelFunc: bsplineBasisDerivativeHostKernels.cpu!},
  ], fn);
}

function basisCases(batch: number, nIn: number, backend: string) {
  const knots = Array.from(uniformKnots(G, K));
  const grid = tf.tensor2d(Array.from({length: nIn}, () => knots).flat(), [nIn, knots.length]);
  const x = tf.randomUniform([batch, nIn], -1, 1) as tf.Tensor2D;
  const fwd = () => bsplineBasis(x, grid, K);
  const fwdBwd = () => tf.grad((xt: tf.Tensor) => tf.sum(tf.square(bsplineBasis(xt as tf.Tensor2D, grid, K))))(x);
  const size = `batch=${batch} nIn=${nIn} G=${G}`;
  const out = batch * nIn * (G + K);
  const tensorflow = backend === 'tensorflow';
  const kernel = tensorflow ? 'host kernel (JS, 1 thread)' : 'kernel';
  const viaKernel = (fn: () => tf.Tensor) => tensorflow ? () => onTensorflow(fn) : fn;
  return {
    cases: [
      {op: 'bsplineBasis fwd', size, bytes: 4 * (batch * nIn + out),
       baseline: {name: 'composite', run: () => withCompositeOnly(BSPLINE_BASIS, fwd)},
       candidates: [{name: kernel, run: viaKernel(fwd)}]},
      {op: 'bsplineBasis fwd+bwd', size, bytes: 4 * (2 * batch * nIn + 2 * out),
       baseline: {name: 'composite', run: () => withCompositeOnly(BSPLINE_BASIS, fwdBwd)},
       candidates: [{name: kernel, run: viaKernel(fwdBwd)}]},
    ],
    dispose: () => tf.dispose([grid, x]),
  };
}

/** KANLinear(nIn -> nOut) vs Dense(nIn -> units) with units chosen for the same number of parameters. */
function layerCase(batch: number, nIn: number, nOut: number) {
  const kanLayer = new KANLinear({units: nOut, gridSize: G, seed: 0});
  const kanParams = nIn * nOut * (G + K + 2);
  const units = Math.round(kanParams / (nIn + 1));
  const dense = tf.layers.dense({units, activation: 'relu'});
  const x = tf.randomUniform([batch, nIn], -1, 1) as tf.Tensor2D;
  kanLayer.apply(x);
  dense.apply(x);
  const step = (layer: tf.layers.Layer) => () => {
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const {value, grads} = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar, vars);
    return [value, ...Object.values(grads)];
  };
  return {
    case: {op: 'layer fwd+bwd', size: `batch=${batch} ${nIn}->${nOut} (${kanParams} params)`,
           flops: 6 * batch * kanParams,
           baseline: {name: `Dense ${nIn}->${units} relu`, run: step(dense)},
           candidates: [{name: `KANLinear ${nIn}->${nOut} G=${G}`, run: step(kanLayer)}]},
    dispose: () => {
      x.dispose();
      kanLayer.dispose();
      dense.dispose();
    },
  };
}

/** Loss + gradient of MSE for a [2, 1, 1] KAN on n samples: tfjs (float32, this backend) vs KANFloat64MSE. */
async function lbfgsEvaluationCase(n: number, gridSize: number) {
  const model = kan([2, 1, 1], {gridSize, seed: 0});
  const x = tf.randomUniform([n, 2], -1, 1, 'float32', 1) as tf.Tensor2D;
  const y = tf.tidy(() => tf.exp(tf.add(tf.sin(tf.mul(Math.PI, tf.slice(x, [0, 0], [n, 1]))),
                                        tf.square(tf.slice(x, [0, 1], [n, 1]))))) as tf.Tensor2D;
  const objective = await KANFloat64MSE.create(model, x, y);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const graph = () => {
    const {value, grads} = tf.variableGrads(
        () => tf.mean(tf.square(tf.sub(model.apply(x) as tf.Tensor, y))) as tf.Scalar, vars);
    return [value, ...Object.values(grads)];
  };
  return {
    case: {op: 'L-BFGS evaluation [2,1,1]', size: `n=${n} G=${gridSize}`,
           baseline: {name: 'tfjs graph (float32)', run: graph},
           candidates: [{name: 'KANFloat64MSE (host float64)', run: () => void objective.evaluate()}]},
    dispose: () => {
      tf.dispose([x, y]);
      model.dispose();
    },
  };
}

const suite: BenchSuite = {
  name: 'kan',
  backends: ['cpu', 'wasm', 'webgpu', 'tensorflow'],
  async run(backend, {quick, emulated}) {
    const small = quick || emulated;
    const rows: BenchRow[] = [];
    const basisSizes: Array<[number, number]> = small ? [[64, 64]] : [[256, 64], [64, 784]];
    for (const [batch, nIn] of basisSizes) {
      const {cases, dispose} = basisCases(batch, nIn, backend);
      for (const c of cases) rows.push(...await runCase(c, {repeats: small ? 3 : 5, maxMsPerVariant: 5000}));
      dispose();
    }
    const layerSizes: Array<[number, number, number]> = small ? [[64, 64, 16]] : [[64, 784, 64]];
    for (const [batch, nIn, nOut] of layerSizes) {
      const {case: c, dispose} = layerCase(batch, nIn, nOut);
      rows.push(...await runCase(c, {repeats: small ? 3 : 5, maxMsPerVariant: 5000}));
      dispose();
    }
    for (const gridSize of small ? [20] : [20, 50]) {
      const {case: c, dispose} = await lbfgsEvaluationCase(1000, gridSize);
      rows.push(...await runCase(c, {repeats: small ? 5 : 20, maxMsPerVariant: 5000}));
      dispose();
    }
    return rows;
  },
  notes: () => [
    'bsplineBasis: speedup = composite median / kernel median on the same backend (composite = pykan-style tf ops).',
    'layer fwd+bwd: a KANLinear and a Dense layer with the same parameter count; speedup < 1 means KAN is slower.',
    'L-BFGS evaluation: loss + gradient of the [2,1,1] fit (examples/node/kan/fit.ts) on the tfjs graph of this ' +
        'backend vs the float64 host objective (one JS thread, independent of the backend).',
  ],
};
export default suite;
