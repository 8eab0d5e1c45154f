/**
 * The WebGPU kernel of flash-decoding: split-KV in two passes (split_program.ts, merge_program.ts); one chunk
 * runs pass 1 only.
 */
import type * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import type {FlashDecodeAttrs} from '../contract';
import {FlashDecodeMergeProgram} from './merge_program';
import type {WebGPUBackendLike} from './program';
import {FlashDecodeSplitProgram, rowsPerWorkgroup} from './split_program';

/** Fewest keys per chunk 'auto' accepts: below this the merge and the per-workgroup setup dominate. */
export const MIN_CHUNK_KEYS = 256;

/**
 * Workgroups that run at once on the device (a guess: WebGPU exposes no core count). SwiftShader runs one
 * workgroup per CPU thread; for a real GPU we assume ~64 compute units (a mid-range part; big GPUs have more,
 * where 'auto' leaves some headroom unused but never splits below MIN_CHUNK_KEYS).
 */
export function concurrentWorkgroups(backend: unknown): number {
  const info = (backend as {adapterInfo?: {vendor?: string; architecture?: string}}).adapterInfo;
  const emulated = /swiftshader|llvmpipe|lavapipe/i.test(`${info?.vendor ?? ''} ${info?.architecture ?? ''}`);
  if (emulated) return (globalThis as {navigator?: {hardwareConcurrency?: number}}).navigator?.hardwareConcurrency ?? 4;
  return 64;
}

/**
 * 'auto' split count: enough chunks that `workgroupsPerChunk * C` gives about two waves of workgroups, but
 * no chunk shorter than MIN_CHUNK_KEYS keys (so short caches run one chunk and skip the merge).
 */
export function autoNumSplits(workgroupsPerChunk: number, maxValidLength: number, concurrent: number): number {
  const toFillDevice = Math.ceil((2 * concurrent) / workgroupsPerChunk);
  const byLength = Math.max(1, Math.floor(maxValidLength / MIN_CHUNK_KEYS));
  return Math.max(1, Math.min(toFillDevice, byLength));
}

let lastSplits: number | undefined;

/** The chunk count the last webgpu call used (what 'auto' chose): tests and benchmarks report it. */
export function lastWebGPUNumSplits(): number | undefined {
  return lastSplits;
}

export const flashDecodeWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const gpu = backend as unknown as WebGPUBackendLike;
  const {q, kCache, vCache, cacheLengths} = inputs as Record<string, tf.TensorInfo>;
  const {scale, numSplits, maxValidLength} = attrs as unknown as FlashDecodeAttrs;
  const [batch, nq, hq, d] = q.shape;
  const [, maxLength, hkv] = kCache.shape;
  const rowGroups = Math.ceil((hq / hkv) * nq / rowsPerWorkgroup((hq / hkv) * nq, d));
  let splits = numSplits > 0 ? numSplits :
      autoNumSplits(batch * hkv * rowGroups, maxValidLength, concurrentWorkgroups(backend));
  splits = Math.max(1, Math.min(splits, maxLength));  // more chunks than keys only adds empty ones
  lastSplits = splits;
  const dims = {batch, nq, hq, hkv, d};
  const split = new FlashDecodeSplitProgram(dims, splits);
  const uniforms = [{type: 'float32' as const, data: [scale]}, {type: 'int32' as const, data: [splits]}];
  const pass1 = gpu.runWebGPUProgram(split, [q, kCache, vCache, cacheLengths], 'float32', uniforms);
  if (splits === 1) return pass1;
  const merge = new FlashDecodeMergeProgram([batch, nq, hq, d]);
  const out = gpu.runWebGPUProgram(merge, [pass1], 'float32',
                                   [{type: 'int32', data: [splits]}, {type: 'int32', data: [batch * nq * hq * d]}]);
  gpu.disposeData(pass1.dataId);
  return out;
};
