/**
 * Every private tfjs 4.22 internal tfjs-ext relies on, in one place, so a tfjs upgrade that changes one breaks
 * this file (and its test, internals.test.ts) and nothing else. Nothing outside this module may reach into a
 * backend's fields or the engine's state.
 *
 * | internal                                   | backend      | used for                                   |
 * |--------------------------------------------|--------------|--------------------------------------------|
 * | `backend.data.get(dataId).values`          | cpu          | host kernels read inputs in place          |
 * | `backend.makeTensorInfo(shape, dtype, v)`  | cpu, webgpu  | outputs adopt a typed array                |
 * | `backend.typedArrayFromHeap(info)`         | wasm         | zero-copy heap views of tensors            |
 * | `backend.makeOutput(shape, dtype)`         | wasm         | an output tensor allocated on the heap     |
 * | `backend.wasm` (`_malloc`, `_free`, memory)| wasm         | SIMD modules instantiated over the heap    |
 * | `backend.readSync(dataId)`, `write(...)`   | tensorflow   | host kernels on tfjs-node                  |
 * | `backend.tensorMap.get(dataId)`            | webgpu       | drop a stale CPU copy after an in-place write |
 * | `engine.state.tensorInfo.get(dataId)`      | any          | which backend holds a tensor's data now    |
 */
import * as tf from '@tensorflow/tfjs';

/** A typed array a host backend stores tensor values in. */
export type HostValues = Float32Array | Int32Array | Uint8Array;

interface CpuBackendInternals {
  data: {get(dataId: object): {values?: unknown} | undefined};
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: unknown): tf.TensorInfo;
}
interface WasmBackendInternals {
  typedArrayFromHeap(info: tf.TensorInfo): HostValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  wasm: {_malloc(bytes: number): number; _free(ptr: number): void; asm?: {memory?: unknown};
         wasmExports?: {memory?: unknown}; wasmMemory?: unknown; HEAPU8?: Uint8Array};
}
/** tfjs-node's NodeJSKernelBackend (it has no makeTensorInfo; `write` adopts the values). */
interface TensorflowBackendInternals {
  binding: object;
  readSync(dataId: object): unknown;
  write(values: unknown, shape: number[], dtype: tf.DataType): object;
}
interface WebGPUBackendInternals {
  runWebGPUProgram: unknown;
  tensorMap: {get(dataId: object): {values: unknown; resource: unknown} | undefined};
}

/** Which kind of backend `backend` is, by the internals it exposes. */
export type BackendKind = 'cpu' | 'wasm' | 'tensorflow' | 'webgpu' | 'other';

export function backendKind(backend: unknown): BackendKind {
  const b = backend as Record<string, unknown> | null | undefined;
  if (b == null) return 'other';
  if (typeof b.typedArrayFromHeap === 'function') return 'wasm';
  if (typeof b.binding === 'object' && b.binding !== null && typeof b.readSync === 'function' &&
      typeof b.write === 'function') {
    return 'tensorflow';
  }
  if (typeof b.runWebGPUProgram === 'function') return 'webgpu';
  const data = b.data as {get?: unknown} | undefined;
  if (typeof data?.get === 'function' && typeof b.makeTensorInfo === 'function') return 'cpu';
  return 'other';
}

function isHostValues(values: unknown): values is HostValues {
  return values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array;
}

/**
 * A tensor's values on a host backend, read without a copy where the backend allows: cpu (its typed array),
 * wasm (a view of the heap: detached when the heap grows, so take offsets before allocating), tensorflow (one
 * copy out of libtensorflow). Undefined on other backends, or when the storage is not a typed array.
 */
export function hostTensorValues(backend: unknown, info: tf.TensorInfo): HostValues | undefined {
  const kind = backendKind(backend);
  let values: unknown;
  if (kind === 'wasm') values = (backend as WasmBackendInternals).typedArrayFromHeap(info);
  else if (kind === 'tensorflow') values = (backend as TensorflowBackendInternals).readSync(info.dataId);
  else if (kind === 'cpu') values = (backend as CpuBackendInternals).data.get(info.dataId)?.values;
  return isHostValues(values) ? values : undefined;
}

/**
 * A new tensor on a host backend holding `values` (cpu, tensorflow: adopted; wasm: one copy into the heap).
 * On wasm `values` may be null: the tensor is allocated on the heap and left for the caller to fill.
 */
export function hostTensorFromValues(backend: unknown, shape: number[], dtype: 'float32' | 'int32',
                                     values: Float32Array | Int32Array | null): tf.TensorInfo {
  const kind = backendKind(backend);
  if (kind === 'wasm') {
    const info = (backend as WasmBackendInternals).makeOutput(shape, dtype);
    if (values !== null) (backend as WasmBackendInternals).typedArrayFromHeap(info).set(values);
    return info;
  }
  if (values === null) throw new Error(`tfjs-ext internals: a '${kind}' host tensor needs its values`);
  if (kind === 'tensorflow') {
    return {dataId: (backend as TensorflowBackendInternals).write(values, shape, dtype), shape, dtype};
  }
  if (kind === 'cpu') return (backend as CpuBackendInternals).makeTensorInfo(shape, dtype, values);
  throw new Error(`tfjs-ext internals: cannot create a host tensor on a '${kind}' backend`);
}

/** The tfjs wasm backend's heap: its memory and allocator (what SIMD modules are instantiated over). */
export interface TfjsWasmHeap {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

/** The heap of the registered tfjs wasm backend, or null when that backend is not initialised. */
export function tfjsWasmHeap(): TfjsWasmHeap | null {
  const backend = (tf.engine().registry as Record<string, unknown>)['wasm'] as WasmBackendInternals | undefined;
  const wasm = backend?.wasm;
  if (wasm == null) return null;
  const memory: unknown = wasm.asm?.memory ?? wasm.wasmExports?.memory ?? wasm.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory) || typeof wasm._malloc !== 'function' ||
      typeof wasm._free !== 'function') {
    return null;
  }
  return {memory, malloc: (n) => wasm._malloc(n), free: (p) => wasm._free(p)};
}

/**
 * After a program wrote into an existing webgpu tensor in place: drops the CPU copy of its values a read may
 * have left (it is stale now), so the next read comes from the GPU buffer.
 */
export function webgpuInvalidateCpuCopy(backend: unknown, dataId: object): void {
  const data = (backend as WebGPUBackendInternals).tensorMap.get(dataId);
  if (data !== undefined && data.resource != null) data.values = null;
}

/** The backend that holds a tensor's data now (a tensor made before a backend switch may still live elsewhere). */
export function tensorOwnerBackend(dataId: object): tf.KernelBackend | undefined {
  const engine = tf.engine() as unknown as {state: {tensorInfo: WeakMap<object, {backend: tf.KernelBackend}>}};
  return engine.state.tensorInfo.get(dataId)?.backend;
}

/**
 * The internals `backend` should expose and does not, as sentences (empty when all are there). Tests call it on
 * every backend, so a tfjs upgrade that renames one fails loudly, naming it.
 */
export function missingInternals(backend: unknown, name: string): string[] {
  const b = backend as Record<string, any>;
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => { if (!ok) problems.push(`${name}: ${what}`); };
  const engine = tf.engine() as unknown as {state?: {tensorInfo?: unknown}};
  need(engine.state?.tensorInfo instanceof WeakMap, 'engine.state.tensorInfo is not a WeakMap');
  if (name === 'cpu') {
    need(typeof b.data?.get === 'function', 'backend.data.get is missing');
    need(typeof b.makeTensorInfo === 'function', 'backend.makeTensorInfo is missing');
  } else if (name === 'wasm') {
    need(typeof b.typedArrayFromHeap === 'function', 'backend.typedArrayFromHeap is missing');
    need(typeof b.makeOutput === 'function', 'backend.makeOutput is missing');
    need(typeof b.wasm?._malloc === 'function' && typeof b.wasm?._free === 'function', 'backend.wasm._malloc/_free missing');
    need(tfjsWasmHeap() !== null, 'the wasm heap memory is not found (backend.wasm.asm.memory / wasmExports.memory)');
  } else if (name === 'tensorflow') {
    need(typeof b.readSync === 'function' && typeof b.write === 'function', 'backend.readSync / write missing');
    need(typeof b.binding === 'object' && b.binding !== null, 'backend.binding is missing');
  } else if (name === 'webgpu') {
    need(typeof b.runWebGPUProgram === 'function', 'backend.runWebGPUProgram is missing');
    need(typeof b.tensorMap?.get === 'function', 'backend.tensorMap.get is missing');
    need(typeof b.makeTensorInfo === 'function', 'backend.makeTensorInfo is missing');
  }
  return problems;
}
