/**
 * `npm run bench -- --only=flash-decode [--quick]`: one decode step (Nq = 1) over a KV cache of growing length:
 * flashDecode against the composite baseline (softmax(q K^T) V over the valid cache from tf ops, the path of
 * backends without a kernel) and against flashAttention (causal, no split) on the same cache, in one process.
 * B=1, Hq=8, Hkv=2, D=64, cache 512..16384 on cpu and wasm (quick: 512, 2048); B=1, Hq=4, Hkv=2, D=32,
 * cache 256..2048 on SwiftShader WebGPU (labelled emulation: says nothing about GPU speed).
 * GB/s counts the valid cache read once (K and V: 2 * len * Hkv * D * 4 bytes); FLOPs 4 * len * Hq * D.
 * Last row: appending one token to a KVCache in place against rebuilding it (the composite path).
 */
import * as tf from '@tensorflow/tfjs';
import type {BackendName} from '@tfjs-ext/core';
import {randomFloat32, withCompositeOnly} from '@tfjs-ext/core';
import {BenchOptions, BenchRow, BenchSuite, BenchVariant, runCase, withKernelsRegistered} from '@tfjs-ext/core/bench';
import {activeHostFlashImpl, hostFlashImpls, withHostFlashImpl} from '../flash_attention/contract';
import {flashAttention} from '../flash_attention/op';
import {appendComposite, appendRows} from '../kv_cache/append';
import {activeHostDecodeImpl, FLASH_DECODE, hostDecodeImpls, withHostDecodeImpl} from './contract';
import {flashDecodeHostKernels} from './host';
import {flashDecode} from './op';
import {lastWebGPUNumSplits} from './webgpu';

const notesSeen: string[] = [];

/**
 * The machine running the benchmarks is shared, so wall-clock medians include time the process was not
 * scheduled. Process CPU time per call (Node's process.cpuUsage) isolates the kernel's own cost; reported
 * beside the wall-clock figure, never instead of it.
 */
async function cpuTimeNote(backend: string, len: number, rowFloats: number, run: () => tf.Tensor): Promise<void> {
  const usage = (globalThis as {process?: {cpuUsage(): {user: number; system: number}}}).process?.cpuUsage;
  if (usage === undefined) return;
  const reps = 20;
  for (let i = 0; i < 3; i++) run().dispose();
  const before = usage();
  for (let i = 0; i < reps; i++) run().dispose();
  const after = usage();
  const ms = (after.user - before.user + after.system - before.system) / 1000 / reps;
  notesSeen.push(`${backend}: JS decode kernel at len=${len}: ${ms.toFixed(2)} ms of process CPU time per call = ` +
                 `${(2 * len * rowFloats * 4 / ms / 1e6).toFixed(2)} GB/s of cache read (CPU time excludes waiting ` +
                 'for a core on this shared machine)');
}

interface Shape {
  hq: number;
  hkv: number;
  d: number;
}

async function runLength(backend: BackendName, len: number, {hq, hkv, d}: Shape, emulated: boolean): Promise<BenchRow[]> {
  const q = tf.tensor4d(randomFloat32(hq * d, 1), [1, 1, hq, d]);
  const k = tf.tensor4d(randomFloat32(len * hkv * d, 2), [1, len, hkv, d]);
  const v = tf.tensor4d(randomFloat32(len * hkv * d, 3), [1, len, hkv, d]);
  const lengths = [len];
  const host = backend === 'cpu' || backend === 'wasm';
  const decode = (numSplits: number | 'auto' = 'auto') => () => flashDecode(q, k, v, lengths, {numSplits});
  const candidates: BenchVariant[] = [];
  if (backend === 'tensorflow') {
    // The host kernel (one thread) registered there for the call, whether or not the op registers it.
    const kernel = {kernelName: FLASH_DECODE, backendName: backend, kernelFunc: flashDecodeHostKernels.cpu!};
    candidates.push({name: `flashDecode (${activeHostDecodeImpl().name} host kernel)`,
                     run: () => withKernelsRegistered([kernel], decode())});
  } else if (host) {
    candidates.push({name: 'flashDecode (js kernel)', run: () => withHostDecodeImpl('js', decode())});
    const active = activeHostDecodeImpl().name;
    if (active !== 'js' && hostDecodeImpls().includes(active)) {
      candidates.push({name: `flashDecode (${active} kernel)`, run: decode()});
    }
  } else {
    candidates.push({name: 'flashDecode (webgpu, numSplits auto)', run: decode()});
    candidates.push({name: 'flashDecode (webgpu, numSplits 1)', run: decode(1)});
  }
  const attention = () => flashAttention(q, k, v, {causal: true});
  if (host) {
    candidates.push({name: `flashAttention causal (${activeHostFlashImpl().name} kernel, no split)`, run: attention});
    if (activeHostFlashImpl().name !== 'js' && hostFlashImpls().includes('js')) {
      candidates.push({name: 'flashAttention causal (js kernel, no split)', run: () => withHostFlashImpl('js', attention)});
    }
  } else {
    candidates.push({name: `flashAttention causal (${backend === 'tensorflow' ? 'host kernel, ' : ''}no split)`,
                     run: attention});
  }
  const baseline: BenchVariant = {name: 'composite softmax(q K^T) V',
                                  run: () => withCompositeOnly(FLASH_DECODE, decode())};
  if (backend === 'webgpu') {
    const y = flashDecode(q, k, v, lengths);
    await y.data();
    y.dispose();
    notesSeen.push(`len=${len} [${backend}]: 'auto' chose numSplits=${lastWebGPUNumSplits()}`);
  }
  if (host && len === 16384) await cpuTimeNote(backend, len, hkv * d, () => withHostDecodeImpl('js', decode()));
  const opts: BenchOptions = {warmup: 2, repeats: 15, maxMsPerVariant: 4000};
  const rows = await runCase({
    op: `decode step B=1 Hq=${hq} Hkv=${hkv} D=${d}${emulated ? ' (SwiftShader emulation)' : ''}`,
    size: `len=${len}`, bytes: 2 * len * hkv * d * 4, flops: 4 * len * hq * d, baseline, candidates,
  }, opts);
  tf.dispose([q, k, v]);
  return rows;
}

/** One-token KVCache append: the in-place write of this backend against rebuilding the cache (composite). */
async function runAppend(maxLength: number, {hkv, d}: Shape, emulated: boolean): Promise<BenchRow[]> {
  const cache = tf.tensor4d(randomFloat32(maxLength * hkv * d, 4), [1, maxLength, hkv, d]);
  const token = tf.tensor4d(randomFloat32(hkv * d, 5), [1, 1, hkv, d]);
  const at = [maxLength >> 1], one = [1];
  // Reading one element makes async backends finish the write before the clock stops.
  const probe = () => tf.slice(cache, [0, at[0], 0, 0], [1, 1, 1, 1]);
  const rows = await runCase({
    op: `KVCache.append 1 token, Hkv=${hkv} D=${d}${emulated ? ' (SwiftShader emulation)' : ''}`,
    size: `maxLength=${maxLength}`,
    baseline: {name: 'reallocate (slice + concat, the composite path)',
               run: () => appendComposite(cache, token, at, one)},
    candidates: [{name: 'in place (this backend\'s append kernel)', run: () => {
      appendRows(cache, token, at, one);
      return probe();
    }}],
  }, {warmup: 2, repeats: 15, maxMsPerVariant: 3000});
  tf.dispose([cache, token]);
  return rows;
}

const suite: BenchSuite = {
  name: 'flash-decode',
  backends: ['cpu', 'wasm', 'webgpu', 'tensorflow'],
  async run(backend, {quick, emulated}) {
    const gpu = backend === 'webgpu';
    const shape: Shape = gpu && emulated ? {hq: 4, hkv: 2, d: 32} : {hq: 8, hkv: 2, d: 64};
    const lengths = gpu && emulated ? (quick ? [256] : [256, 1024, 2048]) :
        quick ? [512, 2048] : [512, 1024, 2048, 4096, 8192, 16384];
    const rows: BenchRow[] = [];
    for (const len of lengths) rows.push(...await runLength(backend, len, shape, emulated));
    if (backend === 'tensorflow') {
      // libtensorflow's tensors are immutable from JS: KVCache.append always rebuilds the cache there.
      notesSeen.push('tensorflow: no KVCache.append row (no in-place append there: the cache is rebuilt)');
    } else {
      rows.push(...await runAppend(gpu && emulated ? 1024 : 4096, shape, emulated));
    }
    return rows;
  },
  notes(rows) {
    const out = [...notesSeen];  // the runner asks twice (file, then console)
    for (const backend of ['cpu', 'wasm']) {
      const row = rows.find((r) => r.backend === backend && r.size === 'len=16384' && r.variant === 'flashDecode (js kernel)');
      if (row?.gbps != null && row.medianMs !== null && row.minMs !== null) {
        const bestGbps = row.gbps * row.medianMs / row.minMs;
        out.push(`${backend}: JS decode kernel reads the cache at ${row.gbps.toFixed(2)} GB/s at 16k context ` +
                 `(median; ${bestGbps.toFixed(2)} GB/s from the fastest run; ${row.gflops?.toFixed(2)} GFLOP/s; ` +
                 `target >= 1.5 GB/s: ${row.gbps >= 1.5 ? 'met' : 'NOT met'} at the median)`);
      }
    }
    return out;
  },
};

export default suite;
