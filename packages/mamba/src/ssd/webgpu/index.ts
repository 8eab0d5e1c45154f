/**
 * WebGPU kernels of the SSD: the scan primitive (`TfjsExtSSDScan`) as five WGSL programs, and the forward SSD
 * kernel as that scan with la = s = dt. The gradient on webgpu is composed of scans (../grad_scan.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {asWebGPUBackend} from '@tfjs-ext/core/webgpu';
import {ChunkStatesProgram, DiagonalOutputProgram, FinalStateProgram, OutputProgram, ScanDims,
        StatePassingProgram} from './programs';

type Info = tf.TensorInfo;

const DEFAULT_CHUNK = 64;

/** [y, finalState] of the scan on webgpu; intermediate chunk states are freed before returning. */
function runScan(backend: unknown, x: Info, la: Info, s: Info, A: Info, B: Info, C: Info, D: Info, s0: Info,
                 chunk: number): Info[] {
  const gpu = asWebGPUBackend(backend, 'ssd');
  const [batch, L, H, P] = x.shape;
  const [, , G, N] = B.shape;
  const dims: ScanDims = {batch, L, H, P, G, N, Q: Math.min(chunk, L)};
  // fresh program objects per call (tfjs rewrites shaderKey)
  const chunkStates = gpu.runWebGPUProgram(new ChunkStatesProgram(dims), [x, la, s, A, B], 'float32');
  const entering = gpu.runWebGPUProgram(new StatePassingProgram(dims), [chunkStates, la, A, s0], 'float32');
  gpu.disposeData(chunkStates.dataId);
  const yDiag = gpu.runWebGPUProgram(new DiagonalOutputProgram(dims), [x, la, s, A, B, C], 'float32');
  const y = gpu.runWebGPUProgram(new OutputProgram(dims), [yDiag, x, la, A, C, D, entering], 'float32');
  gpu.disposeData(yDiag.dataId);
  const finalState = gpu.runWebGPUProgram(new FinalStateProgram(dims), [entering], 'float32');
  gpu.disposeData(entering.dataId);
  return [y, finalState];
}

export const ssdScanWebGPU: KernelFunc = ({inputs, backend}) => {
  const {x, la, s, A, B, C, D, initialState} = inputs as Record<string, Info>;
  return runScan(backend, x, la, s, A, B, C, D, initialState, DEFAULT_CHUNK);
};

export const ssdForwardWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const {x, dt, A, B, C, D, initialState} = inputs as Record<string, Info>;
  const chunk = (attrs as {chunkSize?: number}).chunkSize ?? DEFAULT_CHUNK;
  return runScan(backend, x, dt, dt, A, B, C, D, initialState, chunk);
};
