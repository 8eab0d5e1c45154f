/**
 * flashDecode against the float64 reference (flash attention, causal, bottom-right aligned at each row's
 * cache length) and against flashAttention on the valid prefix, for every numSplits, ragged lengths, MHA / GQA /
 * MQA, on every backend; dispatch, leaks and bad input.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {flashAttention} from '../flash_attention/op';
import {flashAttentionReference} from '../flash_attention/reference';
import {DECODE_MASK, FLASH_DECODE, hostDecodeImpls, withHostDecodeImpl} from './contract';
import {flashDecode} from './op';
import {autoNumSplits, lastWebGPUNumSplits, MIN_CHUNK_KEYS} from './webgpu';

interface Case {
  batch: number;
  nq: number;
  maxLength: number;
  hq: number;
  hkv: number;
  d: number;
  lengths: number[];
  /** Value range of q, k, v (large values give scores of large magnitude). */
  range?: number;
  scale?: number;
}

function makeInputs(c: Case, seed: number) {
  const r = c.range ?? 1;
  const q = randomArray(c.batch * c.nq * c.hq * c.d, seed, -r, r);
  const k = randomArray(c.batch * c.maxLength * c.hkv * c.d, seed + 1, -r, r);
  const v = randomArray(c.batch * c.maxLength * c.hkv * c.d, seed + 2);
  return {q, k, v};
}

function reference(c: Case, q: Float64Array, k: Float64Array, v: Float64Array): Float64Array {
  const scale = c.scale ?? 1 / Math.sqrt(c.d);
  return flashAttentionReference(q, k, v, c.lengths, {batch: c.batch, nq: c.nq, nk: c.maxLength, hq: c.hq,
                                                      hkv: c.hkv, d: c.d}, {...DECODE_MASK, scale}).output;
}

const tensors = (c: Case, {q, k, v}: {q: Float64Array; k: Float64Array; v: Float64Array}) => ({
  qT: tf.tensor4d(Float32Array.from(q), [c.batch, c.nq, c.hq, c.d]),
  kT: tf.tensor4d(Float32Array.from(k), [c.batch, c.maxLength, c.hkv, c.d]),
  vT: tf.tensor4d(Float32Array.from(v), [c.batch, c.maxLength, c.hkv, c.d]),
});

/**
 * flashDecode on the active backend vs the float64 reference; on cpu / wasm once per registered host
 * implementation (the plain-JS one and, when registered, SIMD wasm).
 */
async function checkCase(c: Case, numSplits: number | 'auto', seed: number, tol = {rtol: 2e-4, atol: 2e-5}) {
  const data = makeInputs(c, seed);
  const {qT, kT, vT} = tensors(c, data);
  const expected = reference(c, data.q, data.k, data.v);
  const host = ['cpu', 'wasm'].includes(tf.getBackend());
  for (const impl of host ? hostDecodeImpls() : ['']) {
    const run = () => flashDecode(qT, kT, vT, c.lengths, {numSplits, scale: c.scale});
    const y = impl === '' ? run() : withHostDecodeImpl(impl, run);
    expect(y.shape).to.deep.equal([c.batch, c.nq, c.hq, c.d]);
    expectClose(await toFloat64(y), expected,
                {...tol, name: `flashDecode${impl ? ` (${impl})` : ''} ${JSON.stringify(c)} numSplits=${numSplits}`});
    y.dispose();
  }
  tf.dispose([qT, kT, vT]);
}

describeBackends('flashDecode', ({backend}) => {
  const gqa: Case = {batch: 3, nq: 1, maxLength: 70, hq: 4, hkv: 2, d: 16, lengths: [1, 70, 37]};

  for (const numSplits of [1, 2, 3, 7, 'auto'] as const) {
    it(`equals the reference for numSplits=${numSplits} (GQA, ragged lengths 1, maxLength, 37)`, async () => {
      await checkCase(gqa, numSplits, 10);
    });
  }

  if (backend === 'cpu' || backend === 'wasm') {
    it('tests every registered host implementation, the plain-JS one included', () => {
      expect(hostDecodeImpls()).to.include('js');
    });
  }

  it('takes the native kernel on cpu, wasm, webgpu and tensorflow (the composite elsewhere), equal to the composite', async () => {
    // Lengths below the capacity: the composite skips positions past the longest row (array lengths) or
    // masks them (tensor lengths); both must agree with the kernel and the reference.
    const c: Case = {...gqa, lengths: [1, 50, 37]};
    const data = makeInputs(c, 20);
    const {qT, kT, vT} = tensors(c, data);
    const lensT = tf.tensor1d(c.lengths, 'int32');
    const y = flashDecode(qT, kT, vT, c.lengths, {numSplits: 3});
    const native = ['cpu', 'wasm', 'webgpu', 'tensorflow'].includes(backend);
    expect(lastDispatch(FLASH_DECODE)).to.deep.equal({path: native ? 'kernel' : 'composite', backend});
    const z = withCompositeOnly(FLASH_DECODE, () => flashDecode(qT, kT, vT, c.lengths));
    expect(lastDispatch(FLASH_DECODE)?.path).to.equal('composite');
    const zT = withCompositeOnly(FLASH_DECODE, () => flashDecode(qT, kT, vT, lensT));
    const expected = reference(c, data.q, data.k, data.v);
    expectClose(await toFloat64(z), expected, {rtol: 2e-4, atol: 2e-5, name: 'composite (array lengths)'});
    expectClose(await toFloat64(zT), expected, {rtol: 2e-4, atol: 2e-5, name: 'composite (tensor lengths)'});
    expectClose(await toFloat64(y), await toFloat64(z), {rtol: 2e-4, atol: 2e-5, name: 'kernel vs composite'});
    tf.dispose([qT, kT, vT, lensT, y, z, zT]);
  });

  it('MHA and MQA, head dims 6, 8 and 64', async () => {
    await checkCase({batch: 2, nq: 1, maxLength: 33, hq: 3, hkv: 3, d: 8, lengths: [33, 5]}, 2, 30);
    await checkCase({batch: 1, nq: 2, maxLength: 19, hq: 2, hkv: 2, d: 6, lengths: [19]}, 2, 33);  // scalar K loads
    await checkCase({batch: 2, nq: 1, maxLength: 23, hq: 3, hkv: 1, d: 8, lengths: [23, 10]}, 1, 34);  // 3 rows
    await checkCase({batch: 2, nq: 1, maxLength: 33, hq: 4, hkv: 1, d: 64, lengths: [20, 33]}, 'auto', 31);
    await checkCase({batch: 1, nq: 1, maxLength: 300, hq: 8, hkv: 2, d: 64, lengths: [300]}, 'auto', 32);
  });

  it('head dim 80 with more query rows per kv head than one workgroup holds (20 rows: MQA, Nq = 5)', async () => {
    await checkCase({batch: 2, nq: 5, maxLength: 90, hq: 4, hkv: 1, d: 80, lengths: [90, 6]}, 3, 35);
  });

  it('several query rows (speculative decoding), including rows that see no key', async () => {
    // Row with length 2 and Nq = 3: query 0 sees nothing (zeros), query 1 sees key 0, query 2 keys 0..1.
    const c: Case = {batch: 3, nq: 3, maxLength: 41, hq: 4, hkv: 2, d: 16, lengths: [2, 41, 0]};
    for (const numSplits of [1, 3, 'auto'] as const) await checkCase(c, numSplits, 40 + (numSplits === 'auto' ? 0 : numSplits));
    const data = makeInputs(c, 40);
    const {qT, kT, vT} = tensors(c, data);
    const y = await toFloat64(flashDecode(qT, kT, vT, c.lengths));
    const rowSize = c.hq * c.d;
    expect(Array.from(y.subarray(0, rowSize)).every((x) => x === 0)).to.equal(true);  // b=0, i=0
    expect(Array.from(y.subarray(2 * c.nq * rowSize)).every((x) => x === 0)).to.equal(true);  // b=2: empty cache
    tf.dispose([qT, kT, vT]);
  });

  it('stays finite with scores of magnitude 1e4', async () => {
    await checkCase({batch: 1, nq: 2, maxLength: 50, hq: 2, hkv: 1, d: 16, lengths: [50], range: 30, scale: 1}, 3,
                    50, {rtol: 1e-3, atol: 1e-3});
  });

  it('equals flashAttention(causal) on the valid prefix of each row, for every numSplits', async () => {
    const c: Case = {batch: 2, nq: 2, maxLength: 45, hq: 4, hkv: 2, d: 16, lengths: [45, 9]};
    const data = makeInputs(c, 60);
    const {qT, kT, vT} = tensors(c, data);
    const expected = c.lengths.map((len, b) => flashAttention(
        tf.slice(qT, [b, 0, 0, 0], [1, -1, -1, -1]), tf.slice(kT, [b, 0, 0, 0], [1, len, -1, -1]),
        tf.slice(vT, [b, 0, 0, 0], [1, len, -1, -1]), {causal: true}));
    for (const numSplits of [1, 2, 3, 7, 'auto'] as const) {
      const y = flashDecode(qT, kT, vT, tf.tensor1d(c.lengths, 'int32'), {numSplits});
      for (let b = 0; b < c.batch; b++) {
        const row = tf.slice(y, [b, 0, 0, 0], [1, -1, -1, -1]);
        expectClose(await toFloat64(row), await toFloat64(expected[b]),
                    {rtol: 2e-4, atol: 2e-5, name: `row ${b} numSplits=${numSplits}`});
        row.dispose();
      }
      y.dispose();
    }
    tf.dispose([qT, kT, vT, ...expected]);
  });

  it("'auto' fills the device with chunks of at least MIN_CHUNK_KEYS keys", async () => {
    expect(autoNumSplits(1 * 2, 16384, 64)).to.equal(64);   // B=1, Hkv=2: 2 workgroups per chunk -> 128 / 2
    expect(autoNumSplits(1 * 2, 4 * MIN_CHUNK_KEYS, 64)).to.equal(4);  // limited by chunk length
    expect(autoNumSplits(64, 16384, 64)).to.equal(2);       // large batch already fills the device
    expect(autoNumSplits(2, 100, 64)).to.equal(1);          // short cache: one chunk, no merge pass
    // A long cache with one kv head: 'auto' splits on every device, and the result still matches.
    const c: Case = {batch: 1, nq: 1, maxLength: 4 * MIN_CHUNK_KEYS + 3, hq: 2, hkv: 1, d: 8,
                     lengths: [4 * MIN_CHUNK_KEYS + 1]};
    await checkCase(c, 'auto', 65);
    if (backend === 'webgpu') expect(lastWebGPUNumSplits()).to.be.greaterThan(1);
  });

  it('leaks nothing (array and tensor lengths)', async () => {
    const c: Case = {batch: 2, nq: 1, maxLength: 20, hq: 2, hkv: 1, d: 8, lengths: [20, 3]};
    const {qT, kT, vT} = tensors(c, makeInputs(c, 70));
    const lens = tf.tensor1d(c.lengths, 'int32');
    for (const numSplits of [1, 3, 'auto'] as const) {
      await expectNoLeaks(() => flashDecode(qT, kT, vT, c.lengths, {numSplits}), `flashDecode numSplits=${numSplits}`);
      await expectNoLeaks(() => flashDecode(qT, kT, vT, lens, {numSplits}), 'flashDecode (tensor lengths)');
    }
    tf.dispose([qT, kT, vT, lens]);
  });

  it('rejects bad input with messages naming the argument and the expected shape', () => {
    const q = tf.zeros([2, 1, 4, 8]) as tf.Tensor4D;
    const k = tf.zeros([2, 10, 2, 8]) as tf.Tensor4D;
    const lens = [3, 10];
    const cases: Array<[() => unknown, Array<string | RegExp>]> = [
      [() => flashDecode(tf.zeros([2, 4, 8]) as unknown as tf.Tensor4D, k, k, lens), ['q', 'rank 4', '[batch, seq, heads, headDim]']],
      [() => flashDecode(q, tf.zeros([2, 10, 8]) as unknown as tf.Tensor4D, k, lens), ['kCache', 'rank 4']],
      [() => flashDecode(q, tf.zeros([3, 10, 2, 8]) as tf.Tensor4D, k, lens), ['kCache', '[2, maxLength, kvHeads, 8]']],
      [() => flashDecode(q, tf.zeros([2, 10, 2, 16]) as tf.Tensor4D, k, lens), ['kCache', '[2, maxLength, kvHeads, 8]']],
      [() => flashDecode(q, k, tf.zeros([2, 9, 2, 8]) as tf.Tensor4D, lens), ['vCache', '[2, 10, 2, 8]']],
      [() => flashDecode(q, tf.zeros([2, 10, 3, 8]) as tf.Tensor4D, tf.zeros([2, 10, 3, 8]) as tf.Tensor4D, lens),
       ['heads (4)', 'kvHeads (3)']],
      [() => flashDecode(tf.zeros([2, 1, 4, 8], 'int32') as tf.Tensor4D, k, k, lens), ['q', 'float32']],
      [() => flashDecode(q, k, k, [3]), ['cacheLengths', '[2]']],
      [() => flashDecode(q, k, k, [3, 11]), ['cacheLengths[1] = 11', '<= 10']],
      [() => flashDecode(q, k, k, [-1, 2]), ['cacheLengths[0] = -1']],
      [() => flashDecode(q, k, k, tf.tensor1d([3, 4, 5], 'int32')), ['cacheLengths', '[2]']],
      [() => flashDecode(q, k, k, tf.tensor1d([3, 4], 'float32')), ['cacheLengths', 'int32']],
      [() => flashDecode(q, k, k, lens, {numSplits: 0}), ['numSplits', 'positive integer']],
      [() => flashDecode(q, k, k, lens, {numSplits: 2.5}), ['numSplits']],
      [() => flashDecode(q, k, k, lens, {scale: NaN}), ['scale']],
    ];
    for (const [fn, fragments] of cases) expectThrowsMatching(fn, fragments);
    tf.dispose([q, k]);
  });

  if (backend === 'cpu' || backend === 'wasm') {
    it('host kernels reject out-of-range tensor cacheLengths', () => {
      const q = tf.zeros([2, 1, 2, 8]) as tf.Tensor4D;
      const k = tf.zeros([2, 10, 1, 8]) as tf.Tensor4D;
      const lens = tf.tensor1d([3, 11], 'int32');
      expectThrowsMatching(() => flashDecode(q, k, k, lens), ['cacheLengths[1] = 11', '<= 10']);
      tf.dispose([q, k, lens]);
    });
  }
});
