/**
 * `@tfjs-ext/core/webgpu`: the one typed contract between tfjs-ext's WGSL programs and tfjs-backend-webgpu 4.22.
 *
 * The webgpu backend package is never imported here, not even for types: importing it before `navigator.gpu`
 * exists keeps it from registering (TFJS-TRAPS.md), and its deep `dist/` modules fail in plain Node. The
 * interfaces below mirror what tfjs-backend-webgpu 4.22 declares; a tfjs upgrade that changes them breaks this
 * file only.
 *
 * Rules every program follows (ARCHITECTURE.md, "WebGPU programs"): a fresh program object per call (tfjs
 * mutates `shaderKey`), every compile-time constant in `shaderKey`, one output per program, f32 only, tiles
 * within 16 KiB of workgroup storage and 256 invocations.
 */
import type * as tf from '@tensorflow/tfjs';

/** The fields of tfjs-backend-webgpu's `WebGPUProgram` that `runWebGPUProgram` reads. */
export interface WebGPUProgram {
  /** Input names, in the order of the inputs passed to {@link runProgram}; each becomes a WGSL array. */
  variableNames: string[];
  /** Floats per element of each input array (1, or 4 for `vec4<f32>` arrays). */
  variableComponents?: number[];
  outputShape: number[];
  /** Pipeline cache key: must name every constant baked into the WGSL (tfjs appends input shapes to it). */
  shaderKey: string;
  /** Which output dims map to each dispatch axis (`{x: [0, 1, 2]}` for a flat dispatch over all of them). */
  dispatchLayout: {x: number[]; y?: number[]; z?: number[]};
  /** Workgroups per axis. */
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Extra uniform fields in WGSL struct syntax (`chunks : i32, scale : f32,`); values given at run time. */
  uniforms?: string;
  /** When true the shader gets `uniforms.size` (the output's element count) and `main(index : i32)`. */
  size?: boolean;
  /** Output written as `vec4<f32>` (output size must be a multiple of 4). */
  outputComponent?: number;
  /** The WGSL body (`fn main(...)` plus helpers); tfjs prepends bindings, uniforms and index helpers. */
  getUserCode(): string;
}

/** One program-defined uniform value, in the order of the program's `uniforms` declaration. */
export interface ProgramUniform {
  type: 'float32' | 'int32' | 'uint32';
  data: number[];
}

/** The slice of tfjs's `WebGPUBackend` that tfjs-ext kernels call. */
export interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgram, inputs: tf.TensorInfo[], outputDtype: tf.DataType,
                   programUniforms?: ProgramUniform[], output?: tf.TensorInfo): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: unknown): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  device: {limits: {maxComputeWorkgroupsPerDimension: number; maxComputeInvocationsPerWorkgroup: number;
                    maxComputeWorkgroupStorageSize: number}};
}

/** True when `backend` is tfjs's WebGPU backend (duck-typed: no runtime import of the package). */
export function isWebGPUBackend(backend: unknown): backend is WebGPUBackendLike {
  return typeof (backend as WebGPUBackendLike | undefined)?.runWebGPUProgram === 'function';
}

/** `backend` as a WebGPU backend, or a clear error naming the op that expected one. */
export function asWebGPUBackend(backend: unknown, opName: string): WebGPUBackendLike {
  if (!isWebGPUBackend(backend)) {
    throw new Error(`${opName}: the webgpu kernel ran on a backend that is not tfjs's WebGPU backend`);
  }
  return backend;
}

/**
 * Runs `program` on `inputs` and returns its single output (a new tensor of `program.outputShape`, or `output`
 * when given: the program then writes into that existing tensor, e.g. a cache updated in place).
 *
 * @example
 * ```ts
 * const kernel: KernelFunc = ({inputs, backend}) =>
 *     runProgram(backend, new MyProgram((inputs.x as tf.TensorInfo).shape), [inputs.x as tf.TensorInfo]);
 * ```
 */
export function runProgram(backend: unknown, program: WebGPUProgram, inputs: tf.TensorInfo[],
                           {dtype = 'float32', uniforms, output}: {dtype?: tf.DataType; uniforms?: ProgramUniform[];
                                                                  output?: tf.TensorInfo} = {}): tf.TensorInfo {
  return asWebGPUBackend(backend, program.shaderKey).runWebGPUProgram(program, inputs, dtype, uniforms, output);
}

/** Workgroups for a flat dispatch of `invocations` threads in groups of `workgroupSize` (x only). */
export function flatDispatch(invocations: number, workgroupSize: number): [number, number, number] {
  return [Math.max(1, Math.ceil(invocations / workgroupSize)), 1, 1];
}

/** Element count of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A base for the common case: one invocation per output element (`main(index : i32)`, `index < uniforms.size`),
 * flat dispatch. Subclasses give `shaderKey`, `variableNames` and `getUserCode()`.
 *
 * @example
 * ```ts
 * class ScaleProgram extends ElementwiseProgram {
 *   variableNames = ['x'];
 *   constructor(shape: number[], private readonly factor: number) { super(shape, `scale_${factor}`); }
 *   getUserCode() { return `fn main(index : i32) { if (index < uniforms.size) { result[index] = x[index] * ${this.factor}; } }`; }
 * }
 * ```
 */
export abstract class ElementwiseProgram implements WebGPUProgram {
  abstract variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: {x: number[]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size = true;
  uniforms?: string;

  constructor(outputShape: number[], shaderKey: string, workgroupSize = 64) {
    this.outputShape = outputShape;
    this.shaderKey = `tfjsExt_${shaderKey}`;
    this.dispatchLayout = {x: outputShape.map((_, i) => i)};
    this.workgroupSize = [workgroupSize, 1, 1];
    this.dispatch = flatDispatch(sizeOf(outputShape), workgroupSize);
  }

  abstract getUserCode(): string;
}
