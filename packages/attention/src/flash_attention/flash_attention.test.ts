/**
 * flashAttention against the float64 reference on every backend: forward (output and lse), gradients by
 * finite differences, masks (causal, window, kvLengths, combinations, rows that see no key), MHA/GQA/MQA,
 * awkward lengths and head dims, overflow safety, the composite path, leaks, and every bad-input error.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {lastDispatch, withCompositeOnly} from '@tfjs-ext/core';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {activeHostFlashImpl, FLASH_ATTENTION, FlashAttentionAttrs, FlashDims, hostFlashImpls,
        withHostFlashImpl} from './contract';
import {flashAttention, flashAttentionOp, flashAttentionWithLse} from './op';
import {flashAttentionReference, flashAttentionReferenceGrad} from './reference';

interface Case {
  batch?: number;
  nq: number;
  nk?: number;
  hq?: number;
  hkv?: number;
  d: number;
  causal?: boolean;
  window?: [number, number];
  kvLengths?: number[];
  scale?: number;
  /** Inputs are uniform in [-magnitude, magnitude]. */
  magnitude?: number;
}

interface Problem {
  dims: FlashDims;
  attrs: FlashAttentionAttrs;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  /** The kvLengths the reference sees (clamped to [0, Nk], as the op documents). */
  lengths: number[];
  options: {causal?: boolean; window?: [number, number]; scale?: number};
  name: string;
}

function problem(c: Case, seed = 1): Problem {
  const dims: FlashDims = {batch: c.batch ?? 1, nq: c.nq, nk: c.nk ?? c.nq, hq: c.hq ?? 1, hkv: c.hkv ?? c.hq ?? 1,
                           d: c.d};
  const [windowLeft, windowRight] = c.window ?? [-1, -1];
  const attrs = {scale: c.scale ?? 1 / Math.sqrt(c.d), causal: c.causal ?? false, windowLeft, windowRight};
  const mag = c.magnitude ?? 1;
  const qn = dims.batch * dims.nq * dims.hq * dims.d, kn = dims.batch * dims.nk * dims.hkv * dims.d;
  const lengths = (c.kvLengths ?? new Array(dims.batch).fill(dims.nk)).map((x) => Math.min(Math.max(x, 0), dims.nk));
  return {dims, attrs, q: randomArray(qn, seed, -mag, mag), k: randomArray(kn, seed + 1, -mag, mag),
          v: randomArray(kn, seed + 2), lengths, options: {causal: c.causal, window: c.window, scale: c.scale},
          name: JSON.stringify(c)};
}

/** A float32 tensor from float64 values (already rounded to float32 by randomArray). */
const f32 = (values: Float64Array, shape: number[]) =>
    tf.tensor(Float32Array.from(values), shape) as unknown as tf.Tensor4D;
const qShape = (p: Problem) => [p.dims.batch, p.dims.nq, p.dims.hq, p.dims.d];
const kShape = (p: Problem) => [p.dims.batch, p.dims.nk, p.dims.hkv, p.dims.d];

/** Runs flashAttentionWithLse on the active backend and compares output and lse with the float64 reference. */
async function expectMatchesReference(c: Case, tol = {rtol: 1e-4, atol: 2e-5}): Promise<void> {
  const p = problem(c);
  const q = f32(p.q, qShape(p)) as tf.Tensor4D;
  const k = f32(p.k, kShape(p)) as tf.Tensor4D;
  const v = f32(p.v, kShape(p)) as tf.Tensor4D;
  const kvLengths = c.kvLengths === undefined ? undefined : tf.tensor1d(c.kvLengths, 'int32');
  const {output, lse} = flashAttentionWithLse(q, k, v, {...p.options, kvLengths});
  const want = flashAttentionReference(p.q, p.k, p.v, p.lengths, p.dims, p.attrs);
  expect(output.shape).to.deep.equal(qShape(p));
  expect(lse.shape).to.deep.equal([p.dims.batch, p.dims.hq, p.dims.nq]);
  expectClose(await toFloat64(output), want.output, {...tol, name: `output ${p.name}`});
  expectClose(await toFloat64(lse), want.lse, {...tol, name: `lse ${p.name}`});
  tf.dispose([q, k, v, output, lse, kvLengths]);
}

/** Gradient check of q, k, v (and optionally through lse) against finite differences of the reference. */
async function expectGradientsMatch(c: Case, throughLse = false): Promise<void> {
  const p = problem(c, 11);
  const kvLengths = c.kvLengths === undefined ? undefined : tf.tensor1d(c.kvLengths, 'int32');
  await checkGradients({
    f: (q, k, v) => {
      const opts = {...p.options, kvLengths};
      if (!throughLse) return flashAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, opts);
      const {output, lse} = flashAttentionWithLse(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, opts);
      return tf.concat([tf.reshape(output, [-1]), tf.reshape(lse, [-1])]);
    },
    reference: (q, k, v) => {
      const r = flashAttentionReference(q, k, v, p.lengths, p.dims, p.attrs);
      if (!throughLse) return r.output;
      const all = new Float64Array(r.output.length + r.lse.length);
      all.set(r.output);
      all.set(r.lse, r.output.length);
      return all;
    },
    inputs: [{shape: qShape(p), values: p.q}, {shape: kShape(p), values: p.k}, {shape: kShape(p), values: p.v}],
  });
  kvLengths?.dispose();
}

/** Analytic dq, dk, dv for a random cotangent against the reference's float64 backward (larger shapes than FD). */
async function expectBackwardMatchesReference(c: Case): Promise<void> {
  const p = problem(c, 21);
  const dy = randomArray(p.q.length, 22);
  const kvLengths = c.kvLengths === undefined ? undefined : tf.tensor1d(c.kvLengths, 'int32');
  const [q, k, v] = [f32(p.q, qShape(p)), f32(p.k, kShape(p)), f32(p.v, kShape(p))];
  const dyT = f32(dy, qShape(p));
  const grads = tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(dyT,
      flashAttention(x as tf.Tensor4D, y as tf.Tensor4D, z as tf.Tensor4D, {...p.options, kvLengths}))))([q, k, v]);
  const want = flashAttentionReferenceGrad(p.q, p.k, p.v, p.lengths, dy, p.dims, p.attrs);
  const tol = {rtol: 1e-3, atol: 1e-5};
  expectClose(await toFloat64(grads[0]), want.dq, {...tol, name: `dq ${p.name}`});
  expectClose(await toFloat64(grads[1]), want.dk, {...tol, name: `dk ${p.name}`});
  expectClose(await toFloat64(grads[2]), want.dv, {...tol, name: `dv ${p.name}`});
  tf.dispose([q, k, v, dyT, kvLengths, ...grads]);
}

/**
 * Runs `fn` on the composite path. On wasm, with IS_TEST's per-kernel leak check off while differentiating:
 * wasm's Identity copies, so the clones customGrad's save() keeps are new data ids inside the forward, which
 * that check counts as leaked (they are released by the backward pass; `noLeaks` below still checks it).
 */
async function onComposite<T>(backend: string, fn: () => T | Promise<T>): Promise<T> {
  const wasTest = tf.env().getBool('IS_TEST');
  if (backend === 'wasm') tf.env().set('IS_TEST', false);
  try {
    return await withCompositeOnly(FLASH_ATTENTION, async () => await fn());
  } finally {
    tf.env().set('IS_TEST', wasTest);
  }
}

/** expectNoLeaks, or on wasm's composite gradient (see onComposite) the same tensor and data id counts. */
async function noLeaks(fn: () => tf.TensorContainer, name: string, kernelLeakCheck: boolean): Promise<void> {
  if (kernelLeakCheck) return expectNoLeaks(fn, name);
  const before = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
  tf.dispose(fn());
  const after = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
  expect(after, `${name}: [tensors, data ids] before and after`).to.deep.equal(before);
}

describeBackends('flashAttention', ({backend}) => {
  const onGpu = backend === 'webgpu';

  // Both host implementations get the whole suite: on cpu every test runs the plain-JS one (forced for the
  // duration of the test), on wasm the default one (SIMD WebAssembly where the runtime supports it).
  let forcedJs: {release: () => void; done: Promise<void>} | null = null;
  beforeEach(() => {
    if (backend !== 'cpu') return;
    let release!: () => void;
    const done = withHostFlashImpl('js', () => new Promise<void>((resolve) => { release = resolve; }));
    forcedJs = {release, done};
  });
  afterEach(async () => {
    forcedJs?.release();
    await forcedJs?.done;
    forcedJs = null;
  });

  it('runs the kernel where one is registered, else the composite (lastDispatch)', async () => {
    const q = tf.ones([1, 3, 1, 8]) as tf.Tensor4D;
    const y = flashAttention(q, q, q);
    const hasKernel = flashAttentionOp.hasKernel();
    if (backend === 'cpu' || backend === 'wasm') expect(hasKernel).to.equal(true);
    if (backend === 'cpu') expect(activeHostFlashImpl().name).to.equal('js');
    expect(lastDispatch(FLASH_ATTENTION)).to.deep.equal({path: hasKernel ? 'kernel' : 'composite', backend});
    const z = withCompositeOnly(FLASH_ATTENTION, () => flashAttention(q, q, q));
    expect(lastDispatch(FLASH_ATTENTION)).to.deep.equal({path: 'composite', backend});
    expectClose(await toFloat64(z), await toFloat64(y), {name: 'kernel vs composite'});
    tf.dispose([q, y, z]);
  });

  describe('forward equals the float64 reference', () => {
    it('MHA, GQA, MQA', async () => {
      await expectMatchesReference({batch: 2, nq: 7, hq: 2, d: 16});
      await expectMatchesReference({nq: 33, hq: 4, hkv: 2, d: 8});
      await expectMatchesReference({batch: 2, nq: 5, hq: 3, hkv: 1, d: 32});
    });

    it('Nq != Nk both ways, with and without causal', async () => {
      for (const causal of [false, true]) {
        await expectMatchesReference({batch: 2, nq: 5, nk: 9, hq: 4, hkv: 2, d: 16, causal});
        await expectMatchesReference({nq: 9, nk: 5, hq: 2, d: 8, causal});  // causal: the first 4 rows see no key
      }
      await expectMatchesReference({nq: 1, nk: 1, d: 8});
      await expectMatchesReference({nq: 1, nk: 100, hq: 2, hkv: 1, d: 16, causal: true});
    });

    it('head dims 8..128 and lengths that are not multiples of a tile', async () => {
      await expectMatchesReference({nq: 7, hq: 2, d: 128});
      await expectMatchesReference({nq: 33, hq: 1, d: 80, causal: true});
      await expectMatchesReference({nq: 100, hq: 2, hkv: 1, d: 64});
      await expectMatchesReference({nq: 257, d: 16, causal: true});
      await expectMatchesReference({nq: 100, nk: 257, d: 16, window: [40, 8]});
    });

    it('windows, alone and with causal', async () => {
      await expectMatchesReference({nq: 20, d: 8, window: [3, 2]});
      await expectMatchesReference({nq: 20, d: 8, window: [-1, 0]});
      await expectMatchesReference({nq: 20, nk: 30, hq: 2, d: 8, window: [5, -1]});
      await expectMatchesReference({nq: 40, hq: 2, hkv: 1, d: 16, window: [7, 0], causal: true});
      await expectMatchesReference({nq: 12, nk: 7, d: 8, window: [0, 0]});
    });

    it('kvLengths (padding), with causal and window, clamped outside [0, Nk]', async () => {
      await expectMatchesReference({batch: 3, nq: 9, hq: 2, d: 8, kvLengths: [5, 9, 1]});
      await expectMatchesReference({batch: 3, nq: 6, nk: 11, hq: 2, hkv: 1, d: 16, kvLengths: [11, 4, 8],
                                    causal: true});
      await expectMatchesReference({batch: 2, nq: 10, hq: 2, d: 8, kvLengths: [7, 10], causal: true,
                                    window: [2, 0]});
      await expectMatchesReference({batch: 2, nq: 4, nk: 6, d: 8, kvLengths: [40, -3]});
    });

    it('rows that see no key: zeros, lse -Infinity, no NaN', async () => {
      const c: Case = {batch: 2, nq: 6, nk: 4, hq: 2, d: 8, causal: true, kvLengths: [4, 0]};
      const p = problem(c);
      const q = f32(p.q, qShape(p)) as tf.Tensor4D;
      const k = f32(p.k, kShape(p)) as tf.Tensor4D;
      const kvLengths = tf.tensor1d(c.kvLengths!, 'int32');
      const {output, lse} = flashAttentionWithLse(q, k, k, {causal: true, kvLengths});
      const out = await output.data(), l = await lse.data();
      expect(out.some((x) => Number.isNaN(x))).to.equal(false);
      // batch 0: rows 0, 1 see no key (off = 4 - 6 = -2); batch 1: every row sees no key.
      for (let h = 0; h < 2; h++) {
        for (let i = 0; i < 6; i++) {
          if (i < 2) expect(l[h * 6 + i]).to.equal(-Infinity);
          else expect(Number.isFinite(l[h * 6 + i])).to.equal(true);
          expect(l[(2 + h) * 6 + i]).to.equal(-Infinity);
        }
      }
      for (let i = 0; i < 2 * 6 * 2 * 8; i++) {
        const [b, row] = [Math.floor(i / (6 * 2 * 8)), Math.floor(i / (2 * 8)) % 6];
        if (b === 1 || row < 2) expect(out[i]).to.equal(0);
      }
      tf.dispose([q, k, kvLengths, output, lse]);
    });

    it('scores of magnitude 1e4 neither overflow nor lose the softmax', async () => {
      await expectMatchesReference({nq: 9, nk: 33, hq: 2, d: 16, magnitude: 200, scale: 1}, {rtol: 1e-5, atol: 1e-3});
      await expectMatchesReference({nq: 9, d: 16, magnitude: 200, scale: 1, causal: true}, {rtol: 1e-5, atol: 1e-3});
    });

    it('the composite path equals the reference too', async () => {
      await withCompositeOnly(FLASH_ATTENTION, async () => {
        await expectMatchesReference({batch: 2, nq: 9, nk: 7, hq: 4, hkv: 2, d: 16, causal: true});
        await expectMatchesReference({batch: 3, nq: 6, nk: 11, hq: 2, hkv: 1, d: 8, kvLengths: [11, 0, 8],
                                      window: [3, 1]});
        // several query blocks, some seeing no key, keys past the causal / right-window bound skipped
        await expectMatchesReference({nq: onGpu ? 140 : 300, nk: 40, d: 8, causal: true});
        await expectMatchesReference({nq: onGpu ? 140 : 260, nk: onGpu ? 150 : 300, hq: 2, hkv: 1, d: 8,
                                      window: [50, 3]});
      });
    });

    it('the composite path\'s blocked backward equals the reference backward (several blocks)', async () => {
      await onComposite(backend, async () => {
        await expectBackwardMatchesReference({batch: 2, nq: onGpu ? 140 : 200, nk: onGpu ? 150 : 230, hq: 2, hkv: 1,
                                              d: 8, causal: true, kvLengths: [onGpu ? 150 : 230, 101]});
      });
    });

    if (backend === 'cpu') {
      it('every registered host implementation equals the reference', async () => {
        for (const impl of hostFlashImpls()) {
          await withHostFlashImpl(impl, async () => {
            await expectMatchesReference({batch: 2, nq: 37, nk: 70, hq: 4, hkv: 2, d: 24, causal: true,
                                          kvLengths: [70, 45]});
            await expectMatchesReference({nq: 130, hq: 1, d: 64, window: [20, 3]});
            await expectBackwardMatchesReference({batch: 2, nq: 37, nk: 70, hq: 4, hkv: 2, d: 24, causal: true,
                                                  kvLengths: [70, 45]});
            await expectBackwardMatchesReference({nq: 130, nk: 90, hq: 2, d: 64, window: [20, 3]});
          });
        }
      });
    }
  });

  describe('gradients equal finite differences of the reference', () => {
    it('MHA and MQA', async () => {
      await expectGradientsMatch({nq: 5, hq: 2, d: 4});
      await expectGradientsMatch({nq: 3, nk: 6, hq: 2, hkv: 1, d: 8});
    });

    it('causal GQA, Nq > Nk (rows that see no key)', async () => {
      await expectGradientsMatch({nq: 6, nk: 4, hq: 4, hkv: 2, d: 4, causal: true});
    });

    it('kvLengths with a window, and a batch row with no key', async () => {
      await expectGradientsMatch({batch: 3, nq: 5, hq: 2, d: 4, kvLengths: [3, 5, 0], window: [1, 1]});
    });

    it('through lse', async () => {
      await expectGradientsMatch({nq: 4, nk: 5, hq: 2, hkv: 1, d: 4, causal: true}, true);
    });

    it('on the composite path (autograd), including lse', async () => {
      await onComposite(backend, async () => {
        await expectGradientsMatch({batch: 2, nq: 5, nk: 4, hq: 2, hkv: 1, d: 4, causal: true, kvLengths: [4, 2]});
        await expectGradientsMatch({nq: 4, hq: 2, d: 4, window: [1, 0]}, true);
      });
    });

    it('rows that see no key get exactly zero gradient', async () => {
      const q = f32(randomArray(2 * 4 * 1 * 8, 5), [2, 4, 1, 8]) as tf.Tensor4D;
      const k = f32(randomArray(2 * 3 * 1 * 8, 6), [2, 3, 1, 8]) as tf.Tensor4D;
      const kvLengths = tf.tensor1d([3, 0], 'int32');
      for (const composite of [false, true]) {
        const run = () => tf.grads((qx: tf.Tensor) => tf.sum(flashAttention(qx as tf.Tensor4D, k, k,
                                                                                {causal: true, kvLengths})))([q]);
        const [dq] = composite ? await onComposite(backend, run) : run();
        const g = await dq.data();
        expect(g.every((x) => Number.isFinite(x))).to.equal(true);
        for (let i = 0; i < 8; i++) expect(g[i]).to.equal(0);             // batch 0, row 0 (off = -1)
        for (let i = 4 * 8; i < 8 * 8; i++) expect(g[i]).to.equal(0);     // batch 1: every row
        dq.dispose();
      }
      tf.dispose([q, k, kvLengths]);
    });
  });

  describe('memory', () => {
    const q = () => f32(randomArray(2 * 5 * 4 * 8, 1), [2, 5, 4, 8]) as tf.Tensor4D;
    const kv = () => f32(randomArray(2 * 7 * 2 * 8, 2), [2, 7, 2, 8]) as tf.Tensor4D;

    for (const composite of [false, true]) {
      const path = composite ? 'composite' : 'default path';
      const maybeComposite = <T>(fn: () => T) => composite ? withCompositeOnly(FLASH_ATTENTION, fn) : fn();

      it(`forward leaks nothing (${path})`, async () => {
        const [a, b] = [q(), kv()];
        const kvLengths = tf.tensor1d([7, 3], 'int32');
        await expectNoLeaks(() => maybeComposite(() => flashAttention(a, b, b, {causal: true, kvLengths})),
                            'flashAttention');
        await expectNoLeaks(() => maybeComposite(() => flashAttentionWithLse(a, b, b, {window: [2, 1]})),
                            'flashAttentionWithLse');
        tf.dispose([a, b, kvLengths]);
      });

      it(`forward + backward leaks nothing (${path})`, async () => {
        const [a, b] = [q(), kv()];
        const kernelLeakCheck = !(composite && backend === 'wasm');  // see onComposite
        const wasTest = tf.env().getBool('IS_TEST');
        tf.env().set('IS_TEST', kernelLeakCheck);
        await noLeaks(() => maybeComposite(() => tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
            tf.sum(flashAttention(x as tf.Tensor4D, y as tf.Tensor4D, z as tf.Tensor4D, {causal: true})))([a, b, b])),
                      'flashAttention gradient', kernelLeakCheck);
        await noLeaks(() => maybeComposite(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => {
          const {output, lse} = flashAttentionWithLse(x as tf.Tensor4D, y as tf.Tensor4D, y as tf.Tensor4D);
          return tf.add(tf.sum(output), tf.sum(lse));
        })([a, b])), 'flashAttentionWithLse gradient', kernelLeakCheck);
        tf.env().set('IS_TEST', wasTest);
        tf.dispose([a, b]);
      });
    }
  });

  describe('bad input', () => {
    const q = tf.zeros([2, 5, 4, 8]) as tf.Tensor4D;
    const k = tf.zeros([2, 7, 2, 8]) as tf.Tensor4D;
    after(() => tf.dispose([q, k]));

    it('names the argument and the expected shape or layout', () => {
      const q3 = tf.zeros([5, 4, 8]) as unknown as tf.Tensor4D;
      expectThrowsMatching(() => flashAttention(q3, k, k), ['q', 'rank 4', '[batch, seq, heads, headDim]']);
      expectThrowsMatching(() => flashAttention(q, q3, k), ['k', 'rank 4']);
      expectThrowsMatching(() => flashAttention(q, k, q3), ['v', 'rank 4']);
      expectThrowsMatching(() => flashAttention([1] as unknown as tf.Tensor4D, k, k), ['q', 'tf.Tensor']);
      const qInt = tf.zeros([2, 5, 4, 8], 'int32') as tf.Tensor4D;
      expectThrowsMatching(() => flashAttention(qInt, k, k), ['q', 'float32', 'int32']);
      expectThrowsMatching(() => flashAttention(q, k, qInt.cast('int32') as tf.Tensor4D), ['v']);
      const kBatch = tf.zeros([3, 7, 2, 8]) as tf.Tensor4D;
      expectThrowsMatching(() => flashAttention(q, kBatch, kBatch), ['k batch 3', 'q batch 2']);
      const kDim = tf.zeros([2, 7, 2, 16]) as tf.Tensor4D;
      expectThrowsMatching(() => flashAttention(q, kDim, kDim), ['k headDim 16', 'q headDim 8']);
      expectThrowsMatching(() => flashAttention(q, k, kDim), ['v', '[2, 7, 2, 8]', '[2, 7, 2, 16]']);
      const k3 = tf.zeros([2, 7, 3, 8]) as tf.Tensor4D;
      expectThrowsMatching(() => flashAttention(q, k3, k3), ['q heads (4)', 'k/v heads (3)']);
      const qEmpty = tf.zeros([2, 0, 4, 8]) as tf.Tensor4D;
      expectThrowsMatching(() => flashAttention(qEmpty, k, k), ['non-empty', '[2, 0, 4, 8]']);
      tf.dispose([q3, qInt, kBatch, kDim, k3, qEmpty]);
    });

    it('rejects bad options', () => {
      expectThrowsMatching(() => flashAttention(q, k, k, {window: [1.5, 0]}), ['options.window', 'left', '1.5']);
      expectThrowsMatching(() => flashAttention(q, k, k, {window: [0, -2]}), ['options.window', 'right', '>= -1']);
      expectThrowsMatching(() => flashAttention(q, k, k, {window: [3] as unknown as [number, number]}),
                           ['options.window', '[left, right]']);
      expectThrowsMatching(() => flashAttention(q, k, k, {scale: NaN}), ['options.scale']);
      expectThrowsMatching(() => flashAttention(q, k, k, {causal: 1 as unknown as boolean}), ['options.causal']);
      const lenFloat = tf.tensor1d([1, 2]);
      expectThrowsMatching(() => flashAttention(q, k, k, {kvLengths: lenFloat}), ['options.kvLengths', 'int32']);
      const lenShape = tf.tensor1d([1, 2, 3], 'int32');
      expectThrowsMatching(() => flashAttention(q, k, k, {kvLengths: lenShape}),
                           ['options.kvLengths', '[batch] = [2]', '[3]']);
      const len2d = tf.tensor2d([[1, 2]], [1, 2], 'int32');
      expectThrowsMatching(() => flashAttention(q, k, k, {kvLengths: len2d as unknown as tf.Tensor1D}),
                           ['options.kvLengths', 'rank 1']);
      tf.dispose([lenFloat, lenShape, len2d]);
    });
  });
});

describe('flashAttention float64 reference (self-check)', () => {
  it('its backward equals finite differences of its forward', () => {
    const p = problem({nq: 4, nk: 5, hq: 2, hkv: 1, d: 3, causal: true}, 3);
    const dy = randomArray(p.q.length, 9);
    const g = flashAttentionReferenceGrad(p.q, p.k, p.v, p.lengths, dy, p.dims, p.attrs);
    const objective = (q: Float64Array) => flashAttentionReference(q, p.k, p.v, p.lengths, p.dims, p.attrs).output
        .reduce((s, x, i) => s + x * dy[i], 0);
    const numeric = p.q.map((x, i) => {
      const plus = p.q.slice(), minus = p.q.slice();
      plus[i] = x + 1e-6;
      minus[i] = x - 1e-6;
      return (objective(plus) - objective(minus)) / 2e-6;
    });
    expectClose(g.dq, numeric, {rtol: 1e-6, atol: 1e-8, name: 'reference dq'});
  });
});

describe('flashAttention float64 reference: masks as the spec states them (self-check)', () => {
  /** Keys each query row sees, read off the reference: q = 0 (uniform softmax), v_j = e_j. */
  function seenKeys(nq: number, nk: number, kvLength: number, attrs: Partial<FlashAttentionAttrs>): number[][] {
    const dims: FlashDims = {batch: 1, nq, nk, hq: 1, hkv: 1, d: nk};
    const v = new Float64Array(nk * nk).map((_, e) => (e % (nk + 1) === 0 ? 1 : 0));
    const {output} = flashAttentionReference(new Float64Array(nq * nk), new Float64Array(nk * nk), v, [kvLength], dims,
                                             {scale: 1, causal: false, windowLeft: -1, windowRight: -1, ...attrs});
    return Array.from({length: nq}, (_, i) =>
      Array.from({length: nk}, (_, j) => j).filter((j) => output[i * nk + j] > 0));
  }

  it('bottom-right aligned causal, window and kvLengths', () => {
    // Nq = 3, Nk = 5: off = 2, query i sees j <= i + 2.
    expect(seenKeys(3, 5, 5, {causal: true})).to.deep.equal([[0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4]]);
    // Nq = 4, Nk = 2: off = -2, rows 0 and 1 see nothing.
    expect(seenKeys(4, 2, 2, {causal: true})).to.deep.equal([[], [], [0], [0, 1]]);
    // window [1, 0] around i + off (off = 0): j in [i - 1, i].
    expect(seenKeys(3, 3, 3, {windowLeft: 1, windowRight: 0})).to.deep.equal([[0], [0, 1], [1, 2]]);
    // kvLength 3 of Nk = 5, causal: off = 3 - 2 = 1, keys >= 3 are padding.
    expect(seenKeys(2, 5, 3, {causal: true})).to.deep.equal([[0, 1], [0, 1, 2]]);
  });
});
