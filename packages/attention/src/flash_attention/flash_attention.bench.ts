/**
 * `npm run bench -- --only=flash-attention [--quick]`: flashAttention against the attention a tfjs user writes
 * today, `matMul(softmax(scale * matMul(q, k^T) + mask), v)` in [B, H, N, D] (transposes included), on the
 * same inputs in the same process. Candidates: our kernel path, our blocked composite (the path of backends
 * without a kernel), the plain-JS host implementation forced (when another one, SIMD wasm, is the default), and
 * for forward rows on cpu/wasm the peer onnxruntime-web 1.30 `MultiHeadAttention` (its wasm CPU kernel, one
 * thread). B=1, H=4, D=64; N = 256..4096 on cpu/wasm (quick: 256, 512), 128..1024 on emulated WebGPU.
 * FLOPs: 4 B H N^2 D forward (half when causal), 3.5x that forward+backward.
 */
import * as tf from '@tensorflow/tfjs';
import type {BackendName} from '@tfjs-ext/core';
import {hasKernel, randomFloat32, withCompositeOnly} from '@tfjs-ext/core';
import {BenchOptions, BenchRow, BenchSuite, BenchVariant, runCase} from '@tfjs-ext/core/bench';
import {createOrtAttention, OrtAttention} from '../bench/ort_peer';
import {activeHostFlashImpl, FLASH_ATTENTION, hostFlashImpls, withHostFlashImpl} from './contract';
import {flashAttention} from './op';

const B = 1, H = 4, D = 64;
const notesSeen: string[] = [];

/** The baseline: what a tfjs user writes. q, k, v [B, N, H, D]; mask additive [1, 1, N, N] or null. */
function naiveAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor | null): tf.Tensor4D {
  return tf.tidy(() => {
    const [qh, kh, vh] = [q, k, v].map((t) => tf.transpose(t, [0, 2, 1, 3]));          // [B, H, N, D]
    let scores = tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(D));              // [B, H, N, N]
    if (mask !== null) scores = tf.add(scores, mask);
    return tf.transpose(tf.matMul(tf.softmax(scores), vh), [0, 2, 1, 3]) as tf.Tensor4D;
  });
}

/** 0 on and below the diagonal, -1e9 above: [1, 1, N, N]. */
function causalMask(n: number): tf.Tensor {
  return tf.tidy(() => tf.reshape(tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([n, n]), -1, 0)), -1e9), [1, 1, n, n]));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface Inputs {
  n: number;
  causal: boolean;
  data: Float32Array[];
  q: tf.Tensor4D;
  k: tf.Tensor4D;
  v: tf.Tensor4D;
  dy: tf.Tensor4D;
  mask: tf.Tensor | null;
}

function makeInputs(n: number, causal: boolean): Inputs {
  const data = [1, 2, 3, 4].map((s) => randomFloat32(B * n * H * D, s));
  const [q, k, v, dy] = data.map((a) => tf.tensor4d(a, [B, n, H, D]));
  return {n, causal, data, q, k, v, dy, mask: causal ? causalMask(n) : null};
}

/** Forward, or forward + backward (dq, dk, dv of sum(dy * attention)), of an attention function. */
function variant(name: string, inp: Inputs, training: boolean,
                 attend: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor4D,
                 wrap: <T>(fn: () => T) => T = (fn) => fn()): BenchVariant {
  const {q, k, v, dy} = inp;
  const forward = () => wrap(() => attend(q, k, v));
  const step = () => wrap(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(attend(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D), dy)))([q, k, v]));
  return {name, run: training ? step : forward};
}

async function runSize(backend: BackendName, n: number, causal: boolean, training: boolean,
                       emulated: boolean): Promise<BenchRow[]> {
  const inp = makeInputs(n, causal);
  const opts = {causal};
  const ours = (a: tf.Tensor4D, b: tf.Tensor4D, c: tf.Tensor4D) => flashAttention(a, b, c, opts);
  const host = backend === 'cpu' || backend === 'wasm';
  // tensorflow (tfjs-node) runs the same host kernel where it is registered there.
  const hostKernel = host || (backend === 'tensorflow' && hasKernel(FLASH_ATTENTION, backend));
  const candidates: BenchVariant[] = [
    variant(`flashAttention (${hostKernel ? activeHostFlashImpl().name + ' kernel' : 'kernel path'})`, inp, training,
            ours),
  ];
  if (n <= 1024) {  // it does the naive composite's work (its gain is memory): skipped where that takes minutes
    candidates.push(variant('blocked composite (ours)', inp, training, ours,
                            (fn) => withCompositeOnly(FLASH_ATTENTION, fn)));
  }
  if (host && activeHostFlashImpl().name !== 'js' && hostFlashImpls().includes('js')) {
    candidates.push(variant('flashAttention (js kernel forced)', inp, training, ours,
                            (fn) => withHostFlashImpl('js', fn)));
  }
  let peer: OrtAttention | Error | null = null;
  if (host && !training) {
    peer = await createOrtAttention(B, n, H, D, causal).catch((e) => e as Error);
    const p = peer;
    candidates.push({name: 'onnxruntime-web 1.30 MultiHeadAttention (wasm, 1 thread)',
                     run: async () => {  // returns nothing: the harness would walk a returned typed array
                       if (p instanceof Error) throw p;
                       await p!.run(inp.data[0], inp.data[1], inp.data[2]);
                     }});
    if (!(p instanceof Error)) {
      try {
        const theirs = await p.run(inp.data[0], inp.data[1], inp.data[2]);
        const mine = flashAttention(inp.q, inp.k, inp.v, opts);
        notesSeen.push(`N=${n}${causal ? ' causal' : ''} [${backend}]: max |onnxruntime-web - flashAttention| = ` +
                       `${maxAbsDiff(theirs, await mine.data()).toExponential(1)}`);
        mine.dispose();
      } catch (e) {
        notesSeen.push(`N=${n} [${backend}]: onnxruntime-web failed: ${String(e).slice(0, 100)}`);
      }
    }
  }
  const big = n >= 2048 && !emulated;
  const benchOpts: BenchOptions = big ? {warmup: 0, repeats: 1} : {warmup: 1, repeats: 5, maxMsPerVariant: 6000};
  const flops = 4 * B * H * n * n * D * (causal ? 0.5 : 1) * (training ? 3.5 : 1);
  const op = `${training ? 'forward+backward' : 'forward'}${causal ? ' causal' : ''}` +
      `${emulated ? ' (SwiftShader emulation)' : ''}`;
  const rows = await runCase({op, size: `N=${n}`, flops, candidates,
                              baseline: variant('naive tfjs (matMul+softmax)', inp, training,
                                                (a, b, c) => naiveAttention(a, b, c, inp.mask))}, benchOpts);
  if (peer !== null && !(peer instanceof Error)) await peer.release();
  tf.dispose([inp.q, inp.k, inp.v, inp.dy, ...(inp.mask === null ? [] : [inp.mask])]);
  return rows;
}

const suite: BenchSuite = {
  name: 'flash-attention',
  backends: ['cpu', 'wasm', 'webgpu', 'tensorflow'],
  async run(backend, {quick, emulated}) {
    const sizes = emulated ? (quick ? [128, 256] : [128, 256, 512, 1024]) :
        quick ? [256, 512] : [256, 512, 1024, 2048, 4096];
    const rows: BenchRow[] = [];
    for (const training of [false, true]) {
      for (const causal of [false, true]) {
        for (const n of sizes) {
          if (training && n > 2048) continue;  // the naive baseline alone takes minutes there
          rows.push(...await runSize(backend, n, causal, training, emulated));
        }
      }
    }
    return rows;
  },
  notes(rows) {
    const notes = [...new Set(notesSeen)];
    const ours = (r: BenchRow) => r.variant.startsWith('flashAttention (') && !r.variant.includes('forced');
    const speedups = (backend: string, minN: number) => rows.filter((r) => r.backend === backend && ours(r) &&
        Number(r.size.slice(2)) >= minN && !r.op.includes('emulation'));
    const verdict = (ok: boolean) => ok ? 'met' : 'NOT met';
    const cpu1024 = speedups('cpu', 1024).filter((r) => r.size === 'N=1024');
    if (cpu1024.length > 0) {
      const worst = Math.min(...cpu1024.map((r) => r.speedup ?? 0));
      notes.push(`target cpu kernel >= 5x the naive composite at N=1024: ${cpu1024.map((r) =>
          `${r.op} ${r.speedup?.toFixed(1) ?? r.error}x`).join(', ')}: ${verdict(worst >= 5)}`);
    }
    const jsCpu = rows.filter((r) => r.backend === 'cpu' && r.size === 'N=1024' && r.variant.includes('js kernel'));
    if (jsCpu.length > 0) {
      const list = jsCpu.map((r) => `${r.op} ${r.speedup?.toFixed(1) ?? r.error}x`).join(', ');
      notes.push(`(plain-JS fallback at N=1024 on cpu: ${list})`);
    }
    const wasmBig = speedups('wasm', 1024);
    if (wasmBig.length > 0) {
      const worst = Math.min(...wasmBig.map((r) => r.speedup ?? 0));
      notes.push(`target wasm >= 2x at N >= 1024: worst ${worst.toFixed(1)}x over ${wasmBig.length} rows: ` +
                 verdict(worst >= 2));
    }
    for (const backend of new Set(rows.map((r) => r.backend))) {
      const at = rows.filter((r) => r.backend === backend && r.size === 'N=4096' && r.op === 'forward');
      const base = at.find((r) => r.baseline), mine = at.find(ours);
      if (base?.peakMB != null && mine?.peakMB != null) {
        notes.push(`target peak memory at N=4096 <= 1/20 of the naive composite [${backend}]: ` +
                   `${mine.peakMB.toFixed(1)} MB vs ${base.peakMB.toFixed(1)} MB: ` +
                   verdict(mine.peakMB * 20 <= base.peakMB));
      }
    }
    notes.push('peak MB counts tfjs tensors only: the host kernels also allocate O(N*D) scratch (K/V/Q packs, ' +
               'about 4 MB at N=4096), and the onnxruntime-web row counts nothing.');
    return notes;
  },
};

export default suite;
