/**
 * Masked keys and values never reach the arithmetic: NaN, +Inf and -Inf planted in keys a query row cannot see
 * (past kvLengths, and future keys under causal) give the same finite outputs, lse and gradients as clean
 * inputs, on every backend, on the kernel path (every host implementation on cpu) and on the composite.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {withCompositeOnly} from '@tfjs-ext/core';
import {describeBackends, expectClose, randomArray} from '@tfjs-ext/core/testing';
import {FLASH_ATTENTION, hostFlashImpls, withHostFlashImpl} from './contract';
import {flashAttentionOp, flashAttentionWithLse} from './op';

const POISON = [NaN, Infinity, -Infinity];

interface Setup {
  batch: number;
  nq: number;
  nk: number;
  hq: number;
  hkv: number;
  d: number;
  causal: boolean;
  kvLengths?: number[];
  /** Poisoned key positions per batch row: every element of k and v there is NaN, +Inf or -Inf. */
  poisoned: number[][];
  /** Query rows per batch row whose results must not change: those that see no poisoned key. */
  unaffectedRows: number[][];
}

interface Result {
  output: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/**
 * Output, lse and the gradients of `sum(dy * output) + sum(w * lse)` with dy, w zero on the rows that see a
 * poisoned key (their results are legitimately non-finite). `poison` false: the same inputs, clean.
 */
async function run(s: Setup, poison: boolean): Promise<Result> {
  const qn = s.batch * s.nq * s.hq * s.d, kn = s.batch * s.nk * s.hkv * s.d;
  const k = Float32Array.from(randomArray(kn, 2)), v = Float32Array.from(randomArray(kn, 3));
  if (poison) {
    s.poisoned.forEach((positions, b) => positions.forEach((j) => {
      for (let e = 0; e < s.hkv * s.d; e++) {
        const i = (b * s.nk + j) * s.hkv * s.d + e;
        k[i] = POISON[e % 3];
        v[i] = POISON[(e + 1) % 3];
      }
    }));
  }
  const keep = (b: number, i: number) => s.unaffectedRows[b].includes(i) ? 1 : 0;
  const dy = Float32Array.from(randomArray(qn, 4)).map((x, e) => {
    const row = Math.floor(e / (s.hq * s.d));
    return x * keep(Math.floor(row / s.nq), row % s.nq);
  });
  const w = Float32Array.from(randomArray(s.batch * s.hq * s.nq, 5)).map((x, e) =>
    x * keep(Math.floor(e / (s.hq * s.nq)), e % s.nq));
  const qShape = [s.batch, s.nq, s.hq, s.d], kShape = [s.batch, s.nk, s.hkv, s.d];
  const tensors = {
    q: tf.tensor4d(Float32Array.from(randomArray(qn, 1)), qShape as [number, number, number, number]),
    k: tf.tensor4d(k, kShape as [number, number, number, number]),
    v: tf.tensor4d(v, kShape as [number, number, number, number]),
    dy: tf.tensor(dy, qShape), w: tf.tensor(w, [s.batch, s.hq, s.nq]),
    kvLengths: s.kvLengths === undefined ? undefined : tf.tensor1d(s.kvLengths, 'int32'),
  };
  const options = {causal: s.causal, kvLengths: tensors.kvLengths};
  const forward = flashAttentionWithLse(tensors.q, tensors.k, tensors.v, options);
  const grads = tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => {
    const r = flashAttentionWithLse(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, options);
    return tf.add(tf.sum(tf.mul(tensors.dy, r.output)), tf.sum(tf.mul(tensors.w, r.lse)));
  })([tensors.q, tensors.k, tensors.v]);
  const data = async (t: tf.Tensor) => await t.data() as Float32Array;
  const result = {output: await data(forward.output), lse: await data(forward.lse), dq: await data(grads[0]),
                  dk: await data(grads[1]), dv: await data(grads[2])};
  tf.dispose([forward.output, forward.lse, ...grads, ...Object.values(tensors)]);
  return result;
}

/** Elements of a [B, N, H, D] (or [B, H, N] with `rowsLast`) array that belong to the given rows of each batch. */
function pick(x: Float32Array, batch: number, n: number, rows: number[][], rowsLast = false): number[] {
  const out: number[] = [];
  const per = x.length / batch;
  for (let b = 0; b < batch; b++) {
    for (let e = 0; e < per; e++) {
      const row = rowsLast ? e % n : Math.floor(e / (per / n));
      if (rows[b].includes(row)) out.push(x[b * per + e]);
    }
  }
  return out;
}

/** Poisoned results equal clean ones where the poison is masked, and are finite there. */
async function expectPoisonMasked(s: Setup, label: string): Promise<void> {
  const [clean, dirty] = [await run(s, false), await run(s, true)];
  const compare: Array<[string, number[], number[]]> = [
    ['output', pick(dirty.output, s.batch, s.nq, s.unaffectedRows), pick(clean.output, s.batch, s.nq, s.unaffectedRows)],
    ['lse', pick(dirty.lse, s.batch, s.nq, s.unaffectedRows, true), pick(clean.lse, s.batch, s.nq, s.unaffectedRows, true)],
    ['dq', pick(dirty.dq, s.batch, s.nq, s.unaffectedRows), pick(clean.dq, s.batch, s.nq, s.unaffectedRows)],
  ];
  // dk, dv: only when no row that counts in the loss sees a poisoned key through another row's probabilities,
  // i.e. when every row sees no poisoned key (the kvLengths cases): then every key's gradient must match.
  if (s.unaffectedRows.every((rows) => rows.length === s.nq)) {
    compare.push(['dk', Array.from(dirty.dk), Array.from(clean.dk)], ['dv', Array.from(dirty.dv), Array.from(clean.dv)]);
    for (const [name, g] of [['dk', dirty.dk], ['dv', dirty.dv]] as const) {
      expect(pick(g, s.batch, s.nk, s.poisoned).every((x) => x === 0), `${label}: ${name} of masked keys is 0`)
          .to.equal(true);
    }
  }
  // Rows that do see a poisoned key are not silently cleaned: their output is non-finite on every path.
  const affected = s.unaffectedRows.map((rows) => Array.from({length: s.nq}, (_, i) => i).filter((i) => !rows.includes(i)));
  const affectedOut = pick(dirty.output, s.batch, s.nq, affected);
  expect(affectedOut.length === 0 || !affectedOut.every((x) => Number.isFinite(x)),
         `${label}: rows that see a poisoned key are non-finite`).to.equal(true);
  for (const [name, got, want] of compare) {
    const finite = got.every((x) => Number.isFinite(x) || (name === 'lse' && x === -Infinity));
    expect(finite, `${label}: ${name} finite where the poison is masked`).to.equal(true);
    expectClose(got, want, {rtol: 1e-5, atol: 1e-6, name: `${label}: ${name} poisoned vs clean`});
  }
}

const SETUPS: Array<[string, Setup]> = [
  ['keys past kvLengths, causal GQA', {batch: 2, nq: 5, nk: 7, hq: 2, hkv: 1, d: 8, causal: true, kvLengths: [4, 7],
                                       poisoned: [[4, 5, 6], []], unaffectedRows: [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]}],
  ['keys past kvLengths, not causal', {batch: 2, nq: 3, nk: 6, hq: 2, hkv: 2, d: 4, causal: false, kvLengths: [2, 5],
                                       poisoned: [[2, 3, 4, 5], [5]], unaffectedRows: [[0, 1, 2], [0, 1, 2]]}],
  // Nq = Nk = 6: query i sees keys j <= i, so poisoned key 4 is a future key of rows 0-3.
  ['future keys under causal', {batch: 1, nq: 6, nk: 6, hq: 2, hkv: 1, d: 8, causal: true, poisoned: [[4]],
                                unaffectedRows: [[0, 1, 2, 3]]}],
];

/** Runs `fn` on the composite; on wasm with IS_TEST off (customGrad's saved clones, see flash_attention.test). */
async function onComposite<T>(backend: string, fn: () => Promise<T>): Promise<T> {
  const wasTest = tf.env().getBool('IS_TEST');
  if (backend === 'wasm') tf.env().set('IS_TEST', false);
  try {
    return await withCompositeOnly(FLASH_ATTENTION, fn);
  } finally {
    tf.env().set('IS_TEST', wasTest);
  }
}

describeBackends('flashAttention: NaN and Inf in masked keys and values', ({backend}) => {
  // Backends without a kernel (webgl, ...) run the composite either way: it is tested once, below.
  const hasKernel = flashAttentionOp.hasKernel(backend);
  for (const [name, setup] of SETUPS) {
    if (hasKernel) it(`${name}: kernel path${backend === 'cpu' ? ' (every host implementation)' : ''}`, async () => {
      if (backend !== 'cpu') return expectPoisonMasked(setup, `${name} [${backend}]`);
      for (const impl of hostFlashImpls()) {
        await withHostFlashImpl(impl, () => expectPoisonMasked(setup, `${name} [${backend}, ${impl}]`));
      }
    });

    it(`${name}: composite`, async () => {
      await onComposite(backend, () => expectPoisonMasked(setup, `${name} [${backend}, composite]`));
    });
  }
});
