/**
 * Masked cache positions never reach the arithmetic: NaN, +Inf and -Inf planted past each row's cache length
 * (lengths as a tensor and as an array) and in the new tokens' future keys of earlier query rows give the same
 * finite outputs as clean caches, on every backend, on the kernel path (every host implementation on cpu) and on
 * the composite.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {withCompositeOnly} from '@tfjs-ext/core';
import {describeBackends, expectClose, randomArray} from '@tfjs-ext/core/testing';
import {FLASH_DECODE, hostDecodeImpls, withHostDecodeImpl} from './contract';
import {flashDecode, flashDecodeOp} from './op';

const POISON = [NaN, Infinity, -Infinity];

interface Setup {
  batch: number;
  nq: number;
  maxLength: number;
  hq: number;
  hkv: number;
  d: number;
  lengths: number[];
  /** Poisoned cache positions per batch row (every element of k and v there is NaN, +Inf or -Inf). */
  poisoned: number[][];
  /** Query rows per batch row that see no poisoned position. */
  unaffectedRows: number[][];
}

/** The output of flashDecode on clean or poisoned caches, lengths given as a tensor or as an array. */
async function run(s: Setup, poison: boolean, lengthsAsTensor: boolean): Promise<Float32Array> {
  const kn = s.batch * s.maxLength * s.hkv * s.d;
  const k = Float32Array.from(randomArray(kn, 2)), v = Float32Array.from(randomArray(kn, 3));
  if (poison) {
    s.poisoned.forEach((positions, b) => positions.forEach((j) => {
      for (let e = 0; e < s.hkv * s.d; e++) {
        const i = (b * s.maxLength + j) * s.hkv * s.d + e;
        k[i] = POISON[e % 3];
        v[i] = POISON[(e + 1) % 3];
      }
    }));
  }
  const cacheShape: [number, number, number, number] = [s.batch, s.maxLength, s.hkv, s.d];
  const q = tf.tensor4d(Float32Array.from(randomArray(s.batch * s.nq * s.hq * s.d, 1)), [s.batch, s.nq, s.hq, s.d]);
  const [kT, vT] = [tf.tensor4d(k, cacheShape), tf.tensor4d(v, cacheShape)];
  const lengths = lengthsAsTensor ? tf.tensor1d(s.lengths, 'int32') : s.lengths;
  const out = flashDecode(q, kT, vT, lengths);
  const data = await out.data() as Float32Array;
  tf.dispose([q, kT, vT, out, ...(lengths instanceof tf.Tensor ? [lengths] : [])]);
  return data;
}

/** Values of the given query rows of each batch row of a [B, Nq, Hq, D] array. */
function pick(x: Float32Array, s: Setup, rows: number[][]): number[] {
  const per = s.nq * s.hq * s.d;
  return Array.from(x).filter((_, e) => rows[Math.floor(e / per)].includes(Math.floor((e % per) / (s.hq * s.d))));
}

async function expectPoisonMasked(s: Setup, label: string): Promise<void> {
  for (const asTensor of [true, false]) {
    const name = `${label}, lengths as ${asTensor ? 'a tensor' : 'an array'}`;
    const [clean, dirty] = [await run(s, false, asTensor), await run(s, true, asTensor)];
    const got = pick(dirty, s, s.unaffectedRows);
    expect(got.every((x) => Number.isFinite(x)), `${name}: finite where the poison is masked`).to.equal(true);
    expectClose(got, pick(clean, s, s.unaffectedRows), {rtol: 1e-5, atol: 1e-6, name: `${name}: poisoned vs clean`});
    const affected = s.unaffectedRows.map((rows) => Array.from({length: s.nq}, (_, i) => i).filter((i) => !rows.includes(i)));
    const bad = pick(dirty, s, affected);
    expect(bad.length === 0 || !bad.every((x) => Number.isFinite(x)), `${name}: rows that see the poison are non-finite`)
        .to.equal(true);
  }
}

const SETUPS: Array<[string, Setup]> = [
  ['positions past the cache lengths (GQA)', {batch: 2, nq: 1, maxLength: 9, hq: 4, hkv: 2, d: 8, lengths: [5, 9],
                                              poisoned: [[5, 6, 7, 8], []], unaffectedRows: [[0], [0]]}],
  // Nq = 3 new tokens at positions 4, 5, 6 of a length-7 row: position 6 is a future key of query rows 0 and 1.
  ['future keys of the earlier new tokens', {batch: 1, nq: 3, maxLength: 8, hq: 2, hkv: 1, d: 8, lengths: [7],
                                             poisoned: [[6, 7]], unaffectedRows: [[0, 1]]}],
];

describeBackends('flashDecode: NaN and Inf in masked cache positions', ({backend}) => {
  // Backends without a kernel (webgl, ...) run the composite either way: it is tested once, below.
  const hasKernel = flashDecodeOp.hasKernel(backend);
  for (const [name, setup] of SETUPS) {
    if (hasKernel) it(`${name}: kernel path${backend === 'cpu' ? ' (every host implementation)' : ''}`, async () => {
      if (backend !== 'cpu') return expectPoisonMasked(setup, `${name} [${backend}]`);
      for (const impl of hostDecodeImpls()) {
        await withHostDecodeImpl(impl, () => expectPoisonMasked(setup, `${name} [${backend}, ${impl}]`));
      }
    });

    it(`${name}: composite`, async () => {
      await withCompositeOnly(FLASH_DECODE, () => expectPoisonMasked(setup, `${name} [${backend}, composite]`));
    });
  }
});
