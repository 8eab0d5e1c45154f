/**
 * The slice of tfjs-backend-webgpu's program interface our shaders use, typed locally: importing the package
 * at runtime would register the backend before `navigator.gpu` exists in Node (see TFJS-TRAPS.md).
 */
import type * as tf from '@tensorflow/tfjs';

/** What `WebGPUBackend.runWebGPUProgram` reads from a program object (tfjs mutates `shaderKey` and `dispatch`). */
export interface WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: {x: number[]; y?: number[]; z?: number[]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Extra uniform fields, WGSL struct syntax (`chunks : i32, scale : f32,`); values passed at run time. */
  uniforms?: string;
  getUserCode(): string;
}

export type ProgramUniform = Array<{type: 'int32' | 'float32'; data: number[]}>;

/** The webgpu backend methods we call. */
export interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgram, inputs: tf.TensorInfo[], outputDtype: tf.DataType,
                   uniforms?: ProgramUniform, output?: tf.TensorInfo): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: unknown): tf.TensorInfo;
  disposeData(dataId: object): boolean;
  device: {limits: {maxComputeWorkgroupsPerDimension: number; maxComputeInvocationsPerWorkgroup: number}};
  tensorMap: {get(dataId: object): {values: unknown; resource: unknown} | undefined};
}

/** True when `backend` is tfjs's WebGPU backend (duck-typed: no runtime import). */
export function isWebGPUBackend(backend: unknown): backend is WebGPUBackendLike {
  return typeof (backend as WebGPUBackendLike)?.runWebGPUProgram === 'function';
}
