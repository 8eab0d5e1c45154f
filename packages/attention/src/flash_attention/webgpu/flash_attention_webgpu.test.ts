/**
 * The WebGPU flash-attention kernels against the float64 reference, called directly through `runKernel`
 * (forward: output and lse; backward: dq, dk, dv), plus masks, edge cases and leaks. Shapes stay small:
 * in Node, webgpu is SwiftShader (CPU emulation).
 */
import * as tf from '@tensorflow/tfjs';
import {lastDispatch} from '@tfjs-ext/core';
import {expect} from 'chai';
import {checkGradients, describeBackends, expectClose, expectNoLeaks, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {FLASH_ATTENTION, FLASH_ATTENTION_GRAD, FlashAttentionAttrs, FlashDims} from '../contract';
import {flashAttention} from '../op';
import {flashAttentionReference, flashAttentionReferenceGrad} from '../reference';
import {MAX_HEAD_DIM} from './common';
import {FlashAttentionForwardProgram} from './forward_program';
import {FlashAttentionDkDvProgram} from './grad_dkdv_program';
import {FlashAttentionDqProgram} from './grad_dq_program';
import {flashAttentionGradWebGPU, flashAttentionWebGPU, flashWebGPUTuning} from './index';

interface Case {
  batch?: number;
  nq: number;
  nk: number;
  hq?: number;
  hkv?: number;
  d: number;
  causal?: boolean;
  window?: [number, number];
  kvLengths?: number[];
  /** Multiplies q (score magnitude). */
  qScale?: number;
  seed?: number;
}

interface Prepared {
  dims: FlashDims;
  attrs: FlashAttentionAttrs;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  dy: Float64Array;
  lengths: Int32Array;
}

function prepare(c: Case): Prepared {
  const dims: FlashDims = {batch: c.batch ?? 1, nq: c.nq, nk: c.nk, hq: c.hq ?? 2, hkv: c.hkv ?? c.hq ?? 2, d: c.d};
  const attrs: FlashAttentionAttrs = {
    scale: 1 / Math.sqrt(c.d), causal: c.causal ?? false,
    windowLeft: c.window?.[0] ?? -1, windowRight: c.window?.[1] ?? -1,
  };
  const seed = c.seed ?? 7;
  const qSize = dims.batch * dims.nq * dims.hq * dims.d;
  const kSize = dims.batch * dims.nk * dims.hkv * dims.d;
  const q = randomArray(qSize, seed, -1, 1).map((x) => Math.fround(x * (c.qScale ?? 1)));
  return {
    dims, attrs, q,
    k: randomArray(kSize, seed + 1), v: randomArray(kSize, seed + 2), dy: randomArray(qSize, seed + 3),
    lengths: Int32Array.from(c.kvLengths ?? new Array(dims.batch).fill(dims.nk)),
  };
}

function tensors(p: Prepared) {
  const {dims: dm} = p;
  return {
    q: tf.tensor4d(Float32Array.from(p.q), [dm.batch, dm.nq, dm.hq, dm.d]),
    k: tf.tensor4d(Float32Array.from(p.k), [dm.batch, dm.nk, dm.hkv, dm.d]),
    v: tf.tensor4d(Float32Array.from(p.v), [dm.batch, dm.nk, dm.hkv, dm.d]),
    kvLengths: tf.tensor1d(p.lengths, 'int32'),
  };
}

function runForward(p: Prepared): tf.Tensor[] {
  const inputs = tensors(p);
  const out = tf.engine().runKernel(FLASH_ATTENTION, inputs, p.attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  tf.dispose(Object.values(inputs));
  return out;
}

async function checkForward(c: Case, tol = {rtol: 2e-4, atol: 2e-5}): Promise<void> {
  const p = prepare(c);
  const ref = flashAttentionReference(p.q, p.k, p.v, p.lengths, p.dims, p.attrs);
  const [output, lse] = runForward(p);
  expect(output.shape).to.deep.equal([p.dims.batch, p.dims.nq, p.dims.hq, p.dims.d]);
  expect(lse.shape).to.deep.equal([p.dims.batch, p.dims.hq, p.dims.nq]);
  const [o, l] = [await toFloat64(output), await toFloat64(lse)];
  tf.dispose([output, lse]);
  expectClose(o, ref.output, {...tol, name: `output ${JSON.stringify(c)}`});
  expectClose(l, ref.lse, {...tol, name: `lse ${JSON.stringify(c)}`});
}

/** Runs the backward kernel on the forward kernel's own output and lse. */
function runBackward(p: Prepared): tf.Tensor[] {
  const inputs = tensors(p);
  const attrs = p.attrs as unknown as tf.NamedAttrMap;
  const [output, lse] = tf.engine().runKernel(FLASH_ATTENTION, inputs, attrs) as tf.Tensor[];
  const dy = tf.tensor4d(Float32Array.from(p.dy), output.shape as [number, number, number, number]);
  const grads = tf.engine().runKernel(FLASH_ATTENTION_GRAD, {...inputs, output, lse, dy}, attrs) as tf.Tensor[];
  tf.dispose([...Object.values(inputs), output, lse, dy]);
  return grads;
}

async function checkBackward(c: Case, tol = {rtol: 2e-4, atol: 2e-5}): Promise<void> {
  const p = prepare(c);
  const ref = flashAttentionReferenceGrad(p.q, p.k, p.v, p.lengths, p.dy, p.dims, p.attrs);
  const grads = runBackward(p);
  const values = await Promise.all(grads.map(toFloat64));
  tf.dispose(grads);
  expect(grads.map((g) => g.shape)).to.deep.equal([
    [p.dims.batch, p.dims.nq, p.dims.hq, p.dims.d], [p.dims.batch, p.dims.nk, p.dims.hkv, p.dims.d],
    [p.dims.batch, p.dims.nk, p.dims.hkv, p.dims.d]]);
  expectClose(values[0], ref.dq, {...tol, name: `dq ${JSON.stringify(c)}`});
  expectClose(values[1], ref.dk, {...tol, name: `dk ${JSON.stringify(c)}`});
  expectClose(values[2], ref.dv, {...tol, name: `dv ${JSON.stringify(c)}`});
}

describeBackends('flashAttention webgpu kernels', () => {
  before(() => {
    // The public op (op.ts) registers these through defineOp; register them here when it has not run.
    if (tf.getKernel(FLASH_ATTENTION, 'webgpu') === undefined) {
      tf.registerKernel({kernelName: FLASH_ATTENTION, backendName: 'webgpu', kernelFunc: flashAttentionWebGPU!});
    }
    if (tf.getKernel(FLASH_ATTENTION_GRAD, 'webgpu') === undefined) {
      tf.registerKernel({kernelName: FLASH_ATTENTION_GRAD, backendName: 'webgpu',
                         kernelFunc: flashAttentionGradWebGPU!});
    }
  });

  describe('forward matches the float64 reference', () => {
    it('MHA, D = 8, 16 (vec4) and 7 (scalar), lengths not multiples of the tiles', async () => {
      await checkForward({nq: 7, nk: 33, d: 8});
      await checkForward({nq: 33, nk: 7, d: 16});
      await checkForward({nq: 5, nk: 9, d: 7});
      await checkForward({nq: 1, nk: 1, d: 8});
    });

    it('GQA and MQA, Nq != Nk both ways', async () => {
      await checkForward({nq: 33, nk: 7, hq: 4, hkv: 2, d: 8});
      await checkForward({nq: 7, nk: 33, hq: 3, hkv: 1, d: 16, causal: true});
    });

    it('D = 32, 64, 80, 128 (tile sizes shrink with D)', async () => {
      await checkForward({nq: 9, nk: 20, d: 32, causal: true});
      await checkForward({nq: 9, nk: 40, d: 64, causal: true});
      await checkForward({nq: 7, nk: 33, hq: 2, hkv: 1, d: 80});
      await checkForward({nq: 3, nk: 37, hq: 2, hkv: 1, d: 128});
    });

    it('several query blocks and key tiles (lengths 70, 100, 257), causal and not', async () => {
      await checkForward({nq: 100, nk: 100, hq: 2, d: 8, causal: true});
      await checkForward({nq: 70, nk: 100, hq: 2, d: 8});
      await checkForward({nq: 257, nk: 20, hq: 2, hkv: 1, d: 8, causal: true});
      await checkForward({nq: 5, nk: 257, hq: 2, d: 8, window: [100, 3]});
      await checkForward({nq: 3, nk: 600, hq: 2, d: 8, causal: true});   // few rows, many keys: split-KV ('auto')
    });

    it('windows, with and without causal, and ragged kvLengths', async () => {
      await checkForward({nq: 33, nk: 40, hq: 2, d: 8, window: [5, 2]});
      await checkForward({nq: 33, nk: 40, hq: 2, d: 8, window: [3, -1], causal: true});
      await checkForward({nq: 20, nk: 20, hq: 2, d: 8, window: [-1, 0]});
      await checkForward({batch: 3, nq: 7, nk: 40, hq: 2, hkv: 1, d: 8, kvLengths: [40, 1, 23], causal: true});
      await checkForward({batch: 2, nq: 12, nk: 12, hq: 1, d: 8, kvLengths: [5, 12], window: [2, 1]});
    });

    it('rows that see no key: output 0, lse -Infinity, no NaN', async () => {
      // Causal with Nq > Nk: the first Nq - Nk rows see nothing; kvLength 0 hides every key of a batch row.
      const c: Case = {batch: 2, nq: 20, nk: 8, hq: 1, d: 8, causal: true, kvLengths: [8, 0]};
      await checkForward(c);
      const [output, lse] = runForward(prepare(c));
      const [o, l] = [await output.data(), await lse.data()];
      tf.dispose([output, lse]);
      expect(Array.from(o).some(Number.isNaN)).to.equal(false);
      expect(Array.from(l.slice(0, 12)).every((x) => x === -Infinity)).to.equal(true);
      expect(Array.from(l.slice(20)).every((x) => x === -Infinity)).to.equal(true);
      expect(Array.from(o.slice(20 * 8)).every((x) => x === 0)).to.equal(true);
    });

    it('every head-dim split (1, 2, 4 invocations per row) gives the reference result', async () => {
      try {
        for (const split of [1, 2, 4] as const) {
          flashWebGPUTuning.splitD = split;
          // One head dim (causal, window and lengths are uniforms: no extra pipelines), several row blocks.
          await checkForward({batch: 2, nq: 70, nk: 37, hq: 2, hkv: 1, d: 16, causal: true, kvLengths: [37, 0]});
          await checkForward({batch: 2, nq: 9, nk: 20, hq: 1, d: 16, window: [4, 1], kvLengths: [20, 6]});
        }
      } finally {
        flashWebGPUTuning.splitD = 'auto';
      }
    });

    it('split-KV (keys in 3 ranges, merged) gives the reference result, empty ranges included', async () => {
      try {
        flashWebGPUTuning.chunks = 3;
        // causal Nq > Nk: rows with no key; kvLengths 5: whole key ranges empty; window: rows seeing one range
        await checkForward({batch: 2, nq: 70, nk: 40, hq: 2, hkv: 1, d: 16, causal: true, kvLengths: [40, 5]});
        await checkForward({nq: 9, nk: 100, hq: 2, d: 16, window: [6, 2]});
        await checkForward({nq: 9, nk: 40, hq: 2, d: 16, qScale: 3e4}, {rtol: 2e-4, atol: 1e-4});
      } finally {
        flashWebGPUTuning.chunks = 'auto';
      }
    });

    it('scores of magnitude 1e4 do not overflow', async () => {
      await checkForward({nq: 9, nk: 40, hq: 2, d: 16, qScale: 3e4}, {rtol: 2e-4, atol: 1e-4});
      await checkForward({nq: 9, nk: 40, hq: 2, d: 16, qScale: -3e4, causal: true}, {rtol: 2e-4, atol: 1e-4});
    });
  });

  describe('backward matches the float64 reference', () => {
    it('MHA, D = 8 and 7 (scalar path)', async () => {
      await checkBackward({nq: 7, nk: 33, d: 8});
      await checkBackward({nq: 9, nk: 5, d: 7, causal: true});
    });

    it('GQA and MQA sum dK/dV over the query heads of a kv head', async () => {
      await checkBackward({nq: 33, nk: 20, hq: 4, hkv: 2, d: 16, causal: true});
      await checkBackward({nq: 7, nk: 12, hq: 3, hkv: 1, d: 8});
    });

    it('several key blocks and query tiles (lengths 70, 100, 257); D = 64', async () => {
      await checkBackward({nq: 70, nk: 100, hq: 2, d: 8, causal: true});
      await checkBackward({nq: 5, nk: 257, hq: 2, d: 8, window: [100, 3]});
      await checkBackward({nq: 257, nk: 20, hq: 2, hkv: 1, d: 8, causal: true});
      await checkBackward({nq: 9, nk: 20, hq: 2, hkv: 1, d: 64, causal: true});
    });

    it('every head-dim split (1, 2, 4 invocations per row) gives the reference gradients', async () => {
      try {
        for (const split of [1, 2, 4] as const) {
          flashWebGPUTuning.splitD = split;
          await checkBackward({batch: 2, nq: 70, nk: 37, hq: 2, hkv: 1, d: 16, causal: true, kvLengths: [37, 0]});
          await checkBackward({batch: 2, nq: 9, nk: 70, hq: 1, d: 16, window: [4, 1], kvLengths: [70, 6]});
        }
      } finally {
        flashWebGPUTuning.splitD = 'auto';
      }
    });

    it('split passes (keys for dQ, query rows for dK/dV in 3 ranges, summed) give the reference', async () => {
      try {
        flashWebGPUTuning.chunks = 3;
        await checkBackward({batch: 2, nq: 70, nk: 40, hq: 2, hkv: 1, d: 16, causal: true, kvLengths: [40, 5]});
        await checkBackward({nq: 9, nk: 100, hq: 2, d: 16, window: [6, 2]});
      } finally {
        flashWebGPUTuning.chunks = 'auto';
      }
    });

    it('windows, kvLengths and rows that see no key (zero gradient, no NaN)', async () => {
      await checkBackward({batch: 2, nq: 20, nk: 8, hq: 1, d: 8, causal: true, kvLengths: [8, 0]});
      await checkBackward({batch: 2, nq: 12, nk: 30, hq: 2, d: 8, kvLengths: [30, 17], window: [4, 2]});
      await checkBackward({nq: 30, nk: 30, hq: 2, d: 8, window: [3, 0]});
    });
  });

  it('backward with the optional dLse input adds the lse gradient', async () => {
    // d lse_i / d S_ij = P_ij, so in float64: dq += scale * dLse_i * (P K)_i, dk += scale * P^T (dLse * q),
    // dv unchanged; P K is the forward with v := k, P^T x is the dv of the backward with v := k, dy := x.
    const p = prepare({batch: 2, nq: 20, nk: 9, hq: 2, hkv: 1, d: 8, causal: true, kvLengths: [9, 4]});
    const dm = p.dims;
    const dLse = randomArray(dm.batch * dm.hq * dm.nq, 99);
    const ref = flashAttentionReferenceGrad(p.q, p.k, p.v, p.lengths, p.dy, dm, p.attrs);
    const pk = flashAttentionReference(p.q, p.k, p.k, p.lengths, dm, p.attrs).output;
    const dLseOf = (n: number) => {                                  // of the row of element n of [B, Nq, Hq, D]
      const row = Math.floor(n / dm.d);                              // (b * Nq + i) * Hq + h
      const h = row % dm.hq, i = Math.floor(row / dm.hq) % dm.nq, b = Math.floor(row / (dm.hq * dm.nq));
      return dLse[(b * dm.hq + h) * dm.nq + i];
    };
    const fromLse = flashAttentionReferenceGrad(p.q, p.k, p.k, p.lengths, p.q.map((x, n) => x * dLseOf(n)), dm,
                                                p.attrs);
    const dqRef = ref.dq.map((x, n) => x + p.attrs.scale * dLseOf(n) * pk[n]);
    const dkRef = ref.dk.map((x, n) => x + p.attrs.scale * fromLse.dv[n]);

    const inputs = tensors(p);
    const attrs = p.attrs as unknown as tf.NamedAttrMap;
    const [output, lse] = tf.engine().runKernel(FLASH_ATTENTION, inputs, attrs) as tf.Tensor[];
    const dy = tf.tensor4d(Float32Array.from(p.dy), output.shape as [number, number, number, number]);
    const dLseT = tf.tensor3d(Float32Array.from(dLse), [dm.batch, dm.hq, dm.nq]);
    const grads = tf.engine().runKernel(FLASH_ATTENTION_GRAD, {...inputs, output, lse, dy, dLse: dLseT},
                                        attrs) as tf.Tensor[];
    const [dq, dk, dv] = await Promise.all(grads.map(toFloat64));
    tf.dispose([...Object.values(inputs), output, lse, dy, dLseT, ...grads]);
    expectClose(dq, dqRef, {rtol: 2e-4, atol: 2e-5, name: 'dq'});
    expectClose(dk, dkRef, {rtol: 2e-4, atol: 2e-5, name: 'dk'});
    expectClose(dv, ref.dv, {rtol: 2e-4, atol: 2e-5, name: 'dv'});
  });

  describe('through the public op', () => {
    it('gradients match finite differences of the float64 reference (checkGradients)', async () => {
      const c: Case = {nq: 6, nk: 9, hq: 2, hkv: 1, d: 8, causal: true};
      const p = prepare(c);
      const dm = p.dims;
      await checkGradients({
        f: (q, k, v) => flashAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, {causal: true}),
        reference: (q, k, v) => flashAttentionReference(q, k, v, p.lengths, dm, p.attrs).output,
        inputs: [{shape: [1, dm.nq, dm.hq, dm.d], values: p.q}, {shape: [1, dm.nk, dm.hkv, dm.d], values: p.k},
                 {shape: [1, dm.nk, dm.hkv, dm.d], values: p.v}],
      });
      expect(lastDispatch(FLASH_ATTENTION)).to.deep.equal({path: 'kernel', backend: 'webgpu'});
    });
  });

  it('every program fits the portable 16 KiB of workgroup storage', () => {
    const sizes: Record<string, number> = {'f32': 4, 'i32': 4, 'vec2<i32>': 8, 'vec4<f32>': 16};
    const bytesOf = (type: string) => sizes[type];   // NaN total (test fails) for a type not listed
    for (const d of [1, 7, 8, 16, 32, 64, 80, 96, 128, 256, 1000, MAX_HEAD_DIM]) {
      for (const split of [1, 2, 4]) {
        if ((d % 4 === 0 ? d / 4 : d) % split !== 0) continue;
        for (const program of [new FlashAttentionForwardProgram([1, 8, 1, d], split, 1),
                               new FlashAttentionDqProgram([1, 8, 1, d], split, 1),
                               new FlashAttentionDkDvProgram([1, 8, 1, d], 1, split, 1)]) {
          let total = 0;
          for (const m of program.getUserCode().matchAll(/var<workgroup>\s+\w+\s*:\s*([^;]+);/g)) {
            const array = /^array<(.+),\s*(\d+)>$/.exec(m[1].trim());
            total += array !== null ? bytesOf(array[1]) * Number(array[2]) : bytesOf(m[1].trim());
          }
          expect(total, `${program.shaderKey}`).to.be.within(1, 16384);
        }
      }
    }
  });

  it('leaks no tensor or data id (forward and backward, single pass and split into ranges)', async () => {
    const p = prepare({nq: 7, nk: 9, d: 8, causal: true});
    await expectNoLeaks(() => runForward(p), 'forward kernel');
    await expectNoLeaks(() => runBackward(p), 'backward kernel');
    const split = prepare({batch: 2, nq: 70, nk: 40, hq: 2, hkv: 1, d: 16, causal: true, kvLengths: [40, 5]});
    try {
      flashWebGPUTuning.chunks = 3;
      await expectNoLeaks(() => runForward(split), 'forward kernel, split-KV');
      await expectNoLeaks(() => runBackward(split), 'backward kernel, split passes');
    } finally {
      flashWebGPUTuning.chunks = 'auto';
    }
  });
}, {only: ['webgpu']});
