/**
 * BFN loss benchmarks: each loss op's kernel vs its composite on the same backend, forward and forward +
 * backward (gradient in the network outputs), at batch 64 x 784 (digits) and 64 x 3072 (CIFAR-sized), K = 2,
 * 16, 256 for the discretised and discrete losses. Peak MB counts tfjs tensors (`tf.profile`).
 *
 * At K = 256 the composites hold [64, dim, 255] intermediates (the discretised fwd+bwd about 400 bytes per
 * element of that shape: 5 GB at 64 x 784); a composite whose peak, extrapolated linearly in K from its K = 16
 * row of the same run, would exceed the backend's budget is not run (its row says so) and the kernel is still
 * measured. The wasm budget is 1 GiB: past about 2 GiB the wasm backend's heap runs out of bounds and the
 * process aborts.
 */
import * as tf from '@tensorflow/tfjs';
import {withCompositeOnly} from '@tfjs-ext/core';
import {BenchCase, BenchRow, BenchSuite, runCase} from '@tfjs-ext/core/bench';
import {BFN_CONTINUOUS_LOSS, bfnContinuousLoss} from './continuous_loss/op';
import {BFN_DISCRETE_LOSS, bfnDiscreteLoss} from './discrete_loss/op';
import {BFN_DISCRETISED_LOSS, bfnDiscretisedLoss} from './discretised_loss/op';

const SIGMA1 = Math.sqrt(1e-3);

/** Peak-memory budget (bytes) for running a composite at all, per backend (see the file comment). */
const COMPOSITE_BUDGET: Record<string, number> = {wasm: 2 ** 30, cpu: 3 * 2 ** 30};

/**
 * Forward and forward+backward cases of one op; `grads` differentiates `loss` in `wrt`. `compositeFits(case)`
 * returns null when the composite may run, else why not (the baseline then throws that reason, unrun).
 */
function pair(kernelName: string, op: string, size: string, loss: (...w: tf.Tensor[]) => tf.Tensor,
              wrt: tf.Tensor[], compositeFits: (op: string) => string | null = () => null): BenchCase[] {
  const fwd = () => loss(...wrt);
  const fwdBwd = () => tf.grads((...w: tf.Tensor[]) => tf.sum(loss(...w)))(wrt);
  const composite = (name: string, run: () => tf.TensorContainer) => () => {
    const why = compositeFits(name);
    if (why !== null) throw new Error(why);
    return withCompositeOnly(kernelName, run);
  };
  return [
    {op: `${op} fwd`, size, baseline: {name: 'composite', run: composite(`${op} fwd`, fwd)},
     candidates: [{name: 'kernel', run: fwd}]},
    {op: `${op} fwd+bwd`, size, baseline: {name: 'composite', run: composite(`${op} fwd+bwd`, fwdBwd)},
     candidates: [{name: 'kernel', run: fwdBwd}]},
  ];
}

function inputs(batch: number, dim: number) {
  const t = tf.randomUniform([batch], 0, 1, 'float32', 1);
  const x = tf.randomUniform([batch, dim], -1, 1, 'float32', 2);
  const mu = tf.tidy(() => tf.mul(x, tf.reshape(tf.sub(1, tf.pow(SIGMA1, tf.mul(t, 2))), [-1, 1])));
  return {t, x, mu, a: tf.randomNormal([batch, dim], 0, 1, 'float32', 3), b: tf.randomNormal([batch, dim], 0, 0.5, 'float32', 4)};
}

const suite: BenchSuite = {
  name: 'bfn',
  backends: ['cpu', 'wasm', 'webgpu'],
  async run(backend, {quick, emulated, repetition = 0}) {
    const small = quick || emulated;
    const rows: BenchRow[] = [];
    const dims = small ? [784] : [784, 3072];
    const batch = small ? 8 : 64;
    const bins = small ? [16] : [2, 16, 256];
    const opts = {repeats: small ? 3 : 5, warmup: 1, maxMsPerVariant: small ? 5000 : 4000};
    const budget = COMPOSITE_BUDGET[backend] ?? Infinity;
    /** May the composite of `op` run at `dim` x K? Extrapolated from its K = 16 peak in this run. */
    const fits = (dim: number, K: number) => (op: string): string | null => {
      if (K <= 16) return null;
      if (repetition > 0) return 'K = 256 composite: first repetition only';
      const base = rows.find((r) => r.op === op && r.size === `${batch} x ${dim} K=16` && r.variant === 'composite');
      if (base?.peakMB == null) return 'not run: no K = 16 peak to extrapolate from';
      const perBin = op.startsWith('bfnDiscreteLoss') ? K / 16 : (K - 1) / 15;
      const est = base.peakMB * 2 ** 20 * perBin;
      const gb = (v: number) => (v / 2 ** 30).toFixed(v < 2 ** 30 ? 1 : 0);
      return est <= budget ? null : `not run: ~${(est / 2 ** 30).toFixed(1)} GB > ${gb(budget)} GB budget`;
    };
    for (const dim of dims) {
      const {t, x, mu, a, b} = inputs(batch, dim);
      const size = `${batch} x ${dim}`;
      const cases: BenchCase[] = [
        ...pair(BFN_CONTINUOUS_LOSS, 'bfnContinuousLoss', size,
                (e) => bfnContinuousLoss(x, mu, e, t, {sigma1: SIGMA1}), [a]),
      ];
      for (const K of bins) {
        const xb = tf.tidy(() => tf.sub(tf.div(tf.add(tf.mul(tf.floor(tf.mul(tf.add(x, 1), K / 2)), 2), 1), K), 1));
        cases.push(...pair(BFN_DISCRETISED_LOSS, 'bfnDiscretisedLoss', `${size} K=${K}`,
                           (m, l) => bfnDiscretisedLoss(xb, mu, m, l, t, {sigma1: SIGMA1, numBins: K}), [a, b],
                           fits(dim, K)));
        const xi = tf.randomUniform([batch, dim], 0, K, 'int32', 5);
        const logits = tf.randomNormal([batch, dim, K], 0, 1, 'float32', 6);
        cases.push(...pair(BFN_DISCRETE_LOSS, 'bfnDiscreteLoss', `${size} K=${K}`,
                           (l) => bfnDiscreteLoss(xi, l, t, {beta1: 9}), [logits], fits(dim, K)));
        for (const c of cases.splice(0)) rows.push(...await runCase(c, opts));
        tf.dispose([xb, xi, logits]);
      }
      for (const c of cases) rows.push(...await runCase(c, opts));
      tf.dispose([t, x, mu, a, b]);
      void backend;
    }
    return rows;
  },
  notes: () => [
    'speedup = composite median / kernel median on the same backend, measured in the same run (> 1: the kernel is faster).',
    'composite = the op from public tf ops (what webgl / tensorflow run); fwd+bwd = tf.grads of the summed loss in the ' +
        'network outputs (the composite through tfjs autograd, the kernel through its backward op).',
    'Peak MB: tfjs tensors during one run (tf.profile); the host kernels allocate only their outputs.',
    'K = 256: a composite runs only where its peak, extrapolated from its K = 16 row, fits the budget (wasm 1 GiB: ' +
        'past ~2 GiB the wasm heap runs out of bounds and aborts the process; cpu 3 GiB); the kernels need only ' +
        'their outputs (what overran the wasm heap before was the composite\'s [64, 784, 255] intermediates).',
  ],
};
export default suite;
