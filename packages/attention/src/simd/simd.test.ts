/**
 * The SIMD WebAssembly host kernels ('simd-wasm') on the cpu and wasm backends: forward, lse and gradients
 * against the float64 reference (masks, GQA/MQA, windows, kvLengths, empty rows, 1e4 scores), finite
 * differences, the exp2 error bound, the JS fallback, O(N*D) module memory and no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs';
import {describeBackends, checkGradients, expectClose, expectNoLeaks, randomArray} from '@tfjs-ext/core/testing';
import {expect} from 'chai';
import {activeHostFlashImpl, FlashAttentionAttrs, FlashDims, withHostFlashImpl} from '../flash_attention/contract';
import {flashAttention, flashAttentionWithLse} from '../flash_attention/op';
import {flashAttentionReference, flashAttentionReferenceGrad} from '../flash_attention/reference';
import {installSimdKernels, lastSimdCall, simdDecision, simdExp2, simdStatus} from './index';

interface Case {
  name: string;
  batch: number; nq: number; nk: number; hq: number; hkv: number; d: number;
  causal?: boolean;
  window?: [number, number];
  kvLengths?: number[];
  /** Multiplies q (scores of magnitude ~1e4 when large). */
  qScale?: number;
  /** Output tolerance when not the default 1e-5. */
  atol?: number;
}

const CASES: Case[] = [
  {name: 'MHA, D=8, Nq=Nk=33', batch: 1, nq: 33, nk: 33, hq: 2, hkv: 2, d: 8},
  {name: 'GQA causal, D=64, Nq=100 < Nk=257', batch: 1, nq: 100, nk: 257, hq: 4, hkv: 2, d: 64, causal: true},
  {name: 'MQA causal, D=80, Nq=257 > Nk=100 (rows with no key)', batch: 1, nq: 257, nk: 100, hq: 3, hkv: 1, d: 80,
   causal: true},
  {name: 'D=128, window [16, 0], Nq=7, Nk=65', batch: 1, nq: 7, nk: 65, hq: 2, hkv: 1, d: 128, window: [16, 0]},
  {name: 'D=16, one query row, Nk=257', batch: 2, nq: 1, nk: 257, hq: 2, hkv: 2, d: 16},
  {name: 'D=32, window [5, 3], kvLengths [130, 60]', batch: 2, nq: 130, nk: 130, hq: 2, hkv: 1, d: 32, window: [5, 3],
   kvLengths: [130, 60]},
  {name: 'D=7 (padded), causal + window [20, -1] + kvLengths [0, 40]', batch: 2, nq: 33, nk: 70, hq: 2, hkv: 2, d: 7,
   causal: true, window: [20, -1], kvLengths: [0, 40]},
  // Scores are computed in float32: at |s| ~ 1e4 their rounding (~1e-3 absolute) moves the weights of near-tied
  // keys by ~1e-3 relative, so outputs differ from float64 by ~1e-4. Overflow would give NaN / Infinity / garbage.
  {name: 'scores up to 1e4', batch: 1, nq: 65, nk: 129, hq: 1, hkv: 1, d: 16, qScale: 4e3, atol: 5e-4},
];

function setup(c: Case) {
  const dims: FlashDims = {batch: c.batch, nq: c.nq, nk: c.nk, hq: c.hq, hkv: c.hkv, d: c.d};
  const attrs: FlashAttentionAttrs = {scale: 1 / Math.sqrt(c.d), causal: c.causal ?? false,
                                      windowLeft: c.window?.[0] ?? -1, windowRight: c.window?.[1] ?? -1};
  const qShape = [c.batch, c.nq, c.hq, c.d], kShape = [c.batch, c.nk, c.hkv, c.d];
  const q = randomArray(c.batch * c.nq * c.hq * c.d, 11, -1, 1).map((x) => Math.fround(x * (c.qScale ?? 1)));
  const k = randomArray(c.batch * c.nk * c.hkv * c.d, 12, -2, 2);
  const v = randomArray(k.length, 13);
  const dy = randomArray(q.length, 14);
  const lens = c.kvLengths ?? new Array(c.batch).fill(c.nk);
  return {dims, attrs, qShape, kShape, q, k, v, dy, lens};
}

/** q, k, v as float32 tensors. */
function tensors(s: ReturnType<typeof setup>): tf.Tensor4D[] {
  return [tf.tensor4d(Float32Array.from(s.q), s.qShape as [number, number, number, number]),
          tf.tensor4d(Float32Array.from(s.k), s.kShape as [number, number, number, number]),
          tf.tensor4d(Float32Array.from(s.v), s.kShape as [number, number, number, number])];
}

function options(c: Case) {
  return {causal: c.causal, window: c.window, kvLengths: c.kvLengths && tf.tensor1d(c.kvLengths, 'int32')};
}

describeBackends('flash attention SIMD wasm kernels', ({backend}) => {
  before(function() {
    if (!simdStatus.use) {
      console.log(`      SIMD kernels not in use: ${simdStatus.reason}`);
      this.skip();
    }
  });

  it('is the active host implementation', () => {
    expect(activeHostFlashImpl().name).to.equal('simd-wasm');
  });

  for (const c of CASES) {
    it(`forward and lse match the float64 reference: ${c.name}`, async () => {
      const s = setup(c);
      const ref = flashAttentionReference(s.q, s.k, s.v, s.lens, s.dims, s.attrs);
      const opts = options(c);
      const [q, k, v] = tensors(s);
      const {output, lse} = flashAttentionWithLse(q, k, v, opts);
      const got = await output.data(), gotLse = await lse.data();
      tf.dispose([q, k, v, output, lse, opts.kvLengths]);
      expect(Array.from(got).every(Number.isFinite), 'finite output').to.equal(true);
      expectClose(got, ref.output, {name: 'output', rtol: 1e-4, atol: c.atol ?? 1e-5});
      expectClose(gotLse, ref.lse, {name: 'lse', rtol: 2e-6, atol: 1e-5});  // -Infinity must match exactly
    });
  }

  for (const c of CASES.filter((x) => x.qScale === undefined)) {
    it(`gradients match the float64 reference gradient: ${c.name}`, async () => {
      const s = setup(c);
      const ref = flashAttentionReferenceGrad(s.q, s.k, s.v, s.lens, s.dy, s.dims, s.attrs);
      const opts = options(c);
      const [q, k, v] = tensors(s);
      const dy = tf.tensor(Float32Array.from(s.dy), s.qShape);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c2: tf.Tensor) =>
          tf.sum(tf.mul(flashAttention(a as tf.Tensor4D, b as tf.Tensor4D, c2 as tf.Tensor4D, opts), dy)))([q, k, v]);
      const [dq, dk, dv] = await Promise.all(grads.map((g) => g.data()));
      tf.dispose([q, k, v, dy, ...grads, opts.kvLengths]);
      expectClose(dq, ref.dq, {name: 'dq', rtol: 1e-4, atol: 2e-5});
      expectClose(dk, ref.dk, {name: 'dk', rtol: 1e-4, atol: 2e-5});
      expectClose(dv, ref.dv, {name: 'dv', rtol: 1e-4, atol: 2e-5});
    });
  }

  it('gradients match finite differences of the float64 reference (GQA, causal, window, kvLengths)', async () => {
    const dims: FlashDims = {batch: 2, nq: 9, nk: 13, hq: 4, hkv: 2, d: 8};
    const attrs: FlashAttentionAttrs = {scale: 0.4, causal: true, windowLeft: 6, windowRight: -1};
    const lens = [13, 7];
    const kvLengths = tf.tensor1d(lens, 'int32');
    await checkGradients({
      f: (q, k, v) => flashAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D,
                                     {scale: 0.4, causal: true, window: [6, -1], kvLengths}),
      reference: (q, k, v) => flashAttentionReference(q, k, v, lens, dims, attrs).output,
      inputs: [{shape: [2, 9, 4, 8], values: randomArray(2 * 9 * 4 * 8, 21)},
               {shape: [2, 13, 2, 8], values: randomArray(2 * 13 * 2 * 8, 22)},
               {shape: [2, 13, 2, 8], values: randomArray(2 * 13 * 2 * 8, 23)}],
    });
    kvLengths.dispose();
  });

  it('gradients of lse match finite differences (its terms run the SIMD forward and backward kernels)', async () => {
    const dims: FlashDims = {batch: 1, nq: 5, nk: 9, hq: 2, hkv: 1, d: 8};
    const attrs: FlashAttentionAttrs = {scale: 0.5, causal: true, windowLeft: -1, windowRight: -1};
    await checkGradients({
      f: (q, k, v) => {
        const {output, lse} = flashAttentionWithLse(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D,
                                                    {scale: 0.5, causal: true});
        return tf.concat([tf.reshape(output, [-1]), tf.reshape(lse, [-1])]);
      },
      reference: (q, k, v) => {
        const {output, lse} = flashAttentionReference(q, k, v, [9], dims, attrs);
        const both = new Float64Array(output.length + lse.length);
        both.set(output);
        both.set(lse, output.length);
        return both;
      },
      inputs: [{shape: [1, 5, 2, 8], values: randomArray(80, 51)}, {shape: [1, 9, 1, 8], values: randomArray(72, 52)},
               {shape: [1, 9, 1, 8], values: randomArray(72, 53)}],
    });
  });

  it('matches the JS host implementation (same inputs, forced with withHostFlashImpl)', async () => {
    const s = setup(CASES[1]);
    const [q, k, v] = tensors(s);
    const simd = flashAttention(q, k, v, {causal: true});
    let usedJs = '';
    const js = withHostFlashImpl('js', () => {
      usedJs = activeHostFlashImpl().name;
      return flashAttention(q, k, v, {causal: true});
    });
    expect(usedJs).to.equal('js');
    expectClose(await simd.data(), await js.data(), {name: 'simd vs js', rtol: 1e-4, atol: 1e-5});
    tf.dispose([q, k, v, simd, js]);
  });

  it('leaks no tensors (forward and gradient)', async () => {
    const q = tf.randomNormal([1, 40, 2, 16]) as tf.Tensor4D, k = tf.randomNormal([1, 50, 1, 16]) as tf.Tensor4D;
    await expectNoLeaks(() => flashAttentionWithLse(q, k, k, {causal: true}), 'flashAttentionWithLse');
    await expectNoLeaks(() => tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(flashAttention(a as tf.Tensor4D, b as tf.Tensor4D, b as tf.Tensor4D)))([q, k]), 'gradient');
    tf.dispose([q, k]);
  });

  it('uses O(N * D) module memory (N = 4096: an N x N score matrix would be 64 MiB)', async () => {
    const n = 4096, d = 16;
    const q = tf.randomNormal([1, n, 1, d]) as tf.Tensor4D;
    const out = flashAttention(q, q, q, {causal: true});
    await out.data();
    tf.dispose([q, out]);
    // Copies of q, k, v (cpu) and the output: 4 x 256 KiB; scratch: packed K^T and V (2 x 256 KiB) and tiles.
    expect(lastSimdCall().bytes).to.be.below(2 * 2 ** 20);
  });

  it(backend === 'wasm' ? 'reads tensors in place on the wasm heap' : 'copies tensors into its memory', async () => {
    const q = tf.randomNormal([1, 8, 2, 16]) as tf.Tensor4D;
    const out = flashAttention(q, q, q);
    tf.dispose([q, out]);
    const call = lastSimdCall();
    // A shared (multi-threaded tfjs wasm) heap cannot be imported by the module: then it copies.
    const heap: WebAssembly.Memory | undefined = (tf.backend() as any).wasm?.asm?.memory;
    const inPlace = backend === 'wasm' && !(heap?.buffer instanceof (globalThis.SharedArrayBuffer ?? class {}));
    expect(call.memory).to.equal(inPlace ? 'tfjs-heap' : 'own');
    expect(call.inputsReadInPlace).to.equal(inPlace ? 4 : 0);  // q, k, v, kvLengths
  });

  it('stays correct when its allocation grows the memory (padded D = 7, Nk = 2^19)', async () => {
    const dims: FlashDims = {batch: 1, nq: 2, nk: 1 << 19, hq: 1, hkv: 1, d: 7};
    const attrs: FlashAttentionAttrs = {scale: 1, causal: true, windowLeft: -1, windowRight: -1};
    const qa = randomArray(2 * 7, 41), ka = randomArray(dims.nk * 7, 42);
    const q = tf.tensor4d(Float32Array.from(qa), [1, 2, 1, 7]);
    const k = tf.tensor4d(Float32Array.from(ka), [1, dims.nk, 1, 7]);
    // On wasm the inputs are heap views that growing the heap detaches; the kernel must re-view them.
    const heap: WebAssembly.Memory | undefined = (tf.backend() as any).wasm?.asm?.memory;
    const heapBefore = heap?.buffer.byteLength ?? 0;
    const out = flashAttention(q, k, k, {scale: 1, causal: true});
    if (backend === 'wasm') expect(heap!.buffer.byteLength).to.be.above(heapBefore);
    const got = await out.data();
    tf.dispose([q, k, out]);
    expectClose(got, flashAttentionReference(qa, ka, ka, [dims.nk], dims, attrs).output, {name: 'output'});
  });
}, {only: ['cpu', 'wasm']});

describe('flash attention SIMD wasm: exp2 and the JS fallback', () => {
  it('exp2 has relative error < 2e-7 on [-126, 127] and flushes below to 0', function() {
    if (!simdStatus.use) this.skip();
    const n = 1 << 18;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.fround(-126 + 253 * i / (n - 1));
    const y = simdExp2(x);
    let worst = 0, at = 0;
    for (let i = 0; i < n; i++) {
      const want = Math.pow(2, x[i]);
      const rel = Math.abs(y[i] - want) / want;
      if (!(rel <= worst)) { worst = rel; at = x[i]; }
    }
    expect(worst, `worst relative error at x = ${at}`).to.be.below(2e-7);  // measured: 9.9e-8
    const special = simdExp2(Float32Array.from([0, 1, -1, -126.5, -1000, -Infinity, 0.5]));
    expect(Array.from(special.subarray(0, 3))).to.deep.equal([1, 2, 0.5]);
    expect(Array.from(special.subarray(3, 6))).to.deep.equal([0, 0, 0]);
    expect(Math.abs(special[6] - Math.SQRT2)).to.be.below(3e-7);
  });

  it('falls back to JS when SIMD is unsupported or disabled', () => {
    expect(simdDecision({supported: () => false})).to.deep.equal(
        {use: false, reason: 'WebAssembly SIMD128 is not supported by this runtime'});
    expect(simdDecision({supported: () => { throw new Error('no WebAssembly'); }}).use).to.equal(false);
    expect(simdDecision({disabled: true, supported: () => true}).use).to.equal(false);
    expect(simdDecision({disabled: false, supported: () => true}).use).to.equal(true);
    // An unavailable runtime registers nothing, so the registries keep only the JS implementations.
    const registered: string[] = [];
    const register = (impl: {name: string}) => { registered.push(impl.name); };
    expect(installSimdKernels(simdDecision({supported: () => false}), register, register)).to.equal(false);
    expect(registered).to.deep.equal([]);
    expect(installSimdKernels({use: true}, register, register)).to.equal(true);
    expect(registered).to.deep.equal(['simd-wasm', 'simd-wasm']);
    expect(withHostFlashImpl('js', () => activeHostFlashImpl().name)).to.equal('js');
  });
});
