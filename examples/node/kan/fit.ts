/**
 * pykan's first tutorial with @tfjs-ext/kan: fit f(x, y) = exp(sin(pi x) + y^2) with a [2, 1, 1] KAN,
 * 1000 train / 1000 test points uniform on [-1, 1]^2, L-BFGS on a grid sequence 3 -> 5 -> 10 -> 20 -> 50
 * (each step a refinement of the previous model), then a [2, 5, 1] KAN trained with the sparsity
 * regulariser and pruned, and the symbolic formula of the [2, 1, 1] model.
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/kan/fit.ts [--steps 200] [--grids 3,5,10,20,50]
 */
import * as tf from '@tensorflow/tfjs';
import {LBFGS, kan, kanWidths, refine, updateGrid} from '@tfjs-ext/kan';
import {autoSymbolic, formatFormula, kanRegularization, prune, symbolicRMSE} from '@tfjs-ext/kan';
import {flags, fmt, progress, useBackend} from './common';

const opts = flags({steps: 100, grids: '3,5,10,20,50', seed: 1, backend: 'cpu', gridUpdates: 10, wide: true,
                    symbolic: true, diagnose: false, gridMargin: 0.05});

/** pykan's tutorial numbers (LBFGS, 200 steps per grid), from the spec. */
const PYKAN: Record<number, [number, number]> = {3: [1.46e-2, 1.53e-2], 10: [2.84e-4, 3.29e-4],
                                                 20: [4.21e-5, 4.04e-5], 50: [1.02e-5, 1.24e-5]};

function target(x: number, y: number): number {
  return Math.exp(Math.sin(Math.PI * x) + y * y);
}

function dataset(n: number, seed: number): {x: tf.Tensor2D; y: tf.Tensor2D; xs: Float64Array} {
  let s = seed >>> 0;
  const rand = () => {  // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const xs = Float64Array.from({length: 2 * n}, () => Math.fround(2 * rand() - 1));
  const ys = Float32Array.from({length: n}, (_, i) => target(xs[2 * i], xs[2 * i + 1]));
  return {x: tf.tensor2d(Float32Array.from(xs), [n, 2]), y: tf.tensor2d(ys, [n, 1]), xs};
}

async function rmse(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D): Promise<number> {
  const e = tf.tidy(() => tf.sqrt(tf.mean(tf.square(tf.sub(model.apply(x) as tf.Tensor, y)))));
  const v = (await e.data())[0];
  e.dispose();
  return v;
}

/**
 * pykan's `fit`: `steps` L-BFGS steps (20 iterations each); `gridUpdates` grid updates spread over the first 50
 * steps (pykan's stop_grid_update_step), or over the first half when there are fewer than 100 steps.
 */
async function train(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D, steps: number, label: string,
                     lambda = 0): Promise<void> {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = new LBFGS(vars, {historySize: 10, maxIter: 20, toleranceGrad: 1e-32, toleranceChange: 1e-32});
  const stopGridUpdate = Math.min(50, Math.floor(steps / 2));
  const every = Math.max(1, Math.floor(stopGridUpdate / opts.gridUpdates));
  const loss = () => tf.tidy(() => {
    const mse = tf.mean(tf.square(tf.sub(model.apply(x) as tf.Tensor, y)));
    return (lambda > 0 ? tf.add(mse, tf.mul(lambda, kanRegularization(model, x))) : mse) as tf.Scalar;
  });
  for (let step = 0; step < steps; step++) {
    if (opts.gridUpdates > 0 && step % every === 0 && step < stopGridUpdate) {
      // keep the L-BFGS history (as pykan): a reset loses the curvature that late, ill-conditioned steps need
      await updateGrid(model, x);
    }
    const l = await opt.step(loss);
    progress(label, step + 1, steps, `loss ${fmt(l)}`);
  }
}

/** Prints the test points with the largest errors and the hidden activations' train/test ranges. */
async function worstPoints(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D): Promise<void> {
  const pred = await (model.apply(x) as tf.Tensor).data(), ys = await y.data(), xs = await x.data();
  const err = Array.from(pred, (p, i) => [Math.abs(p - ys[i]), i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
  for (const [e, i] of err) console.log(`  |err| ${fmt(e)} at (${xs[2 * i].toFixed(4)}, ${xs[2 * i + 1].toFixed(4)})`);
}

async function main(): Promise<void> {
  await useBackend(opts.backend);
  const grids = opts.grids.split(',').map(Number);
  const train_ = dataset(1000, 1 + opts.seed), test = dataset(1000, 1001 + opts.seed);
  let model: tf.Sequential = kan([2, 1, 1], {gridSize: grids[0], seed: opts.seed, scaleNoise: 0.3,
                                          gridMargin: opts.gridMargin});
  const rows: string[] = [];
  const t0 = performance.now();
  for (const g of grids) {
    if (g !== grids[0]) {
      const fine = await refine(model, g, train_.x);
      model.dispose();
      model = fine;
    }
    const tg = performance.now();
    await train(model, train_.x, train_.y, opts.steps, `[2,1,1] G=${g}`);
    const trainRmse = await rmse(model, train_.x, train_.y), testRmse = await rmse(model, test.x, test.y);
    if (opts.diagnose) await worstPoints(model, test.x, test.y);
    const ref = PYKAN[g];
    const [refTrain, refTest] = ref ? ref.map(fmt) : ['-', '-'];
    rows.push(`| ${g} | ${fmt(trainRmse)} | ${fmt(testRmse)} | ${refTrain} | ${refTest} ` +
              `| ${((performance.now() - tg) / 1000).toFixed(1)} |`);
  }
  console.log(`\n[2,1,1] KAN on exp(sin(pi x) + y^2), L-BFGS ${opts.steps} steps per grid (pykan: 200), float32:\n`);
  console.log('| grid G | train RMSE | test RMSE | pykan train | pykan test | seconds |');
  console.log('|---|---|---|---|---|---|');
  rows.forEach((r) => console.log(r));
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  if (opts.symbolic) {
    const fits = await autoSymbolic(model, train_.x);
    console.log('\nsymbolic fit per edge (layer, in -> out: formula, R^2):');
    for (const f of fits.edges) {
      console.log(`  L${f.layer} ${f.input} -> ${f.output}: ${f.text}  (R^2 = ${f.r2.toFixed(6)})`);
    }
    console.log(`\nformula: y = ${formatFormula(fits, ['x', 'y'])[0]}`);
    const symbolicError = symbolicRMSE(fits, test.xs, 1000, (i) => target(test.xs[2 * i], test.xs[2 * i + 1]));
    console.log(`symbolic formula test RMSE: ${fmt(symbolicError)}`);
  }
  model.dispose();

  if (opts.wide) {
    // [2, 5, 1] with the sparsity regulariser, then pruned: the paper's "find the minimal shape" demo.
    const wide = kan([2, 5, 1], {gridSize: 5, seed: opts.seed, scaleNoise: 0.3, gridMargin: opts.gridMargin});
    await train(wide, train_.x, train_.y, opts.steps, '[2,5,1] G=5 lambda=1e-2', 1e-2);
    console.log(`\n[2,5,1] with regularisation: train RMSE ${fmt(await rmse(wide, train_.x, train_.y))}, ` +
                `test RMSE ${fmt(await rmse(wide, test.x, test.y))}`);
    const pruned = await prune(wide, train_.x, {threshold: 1e-2});
    const prunedRmse = await rmse(pruned, test.x, test.y);
    console.log(`pruned widths: [${kanWidths(pruned)}]; test RMSE after pruning ${fmt(prunedRmse)}`);
    await train(pruned, train_.x, train_.y, opts.steps, 'pruned, retrain');
    console.log(`pruned + retrained: test RMSE ${fmt(await rmse(pruned, test.x, test.y))}`);
    wide.dispose();
    pruned.dispose();
  }
  tf.dispose([train_.x, train_.y, test.x, test.y]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
