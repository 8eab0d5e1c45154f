/**
 * The SIMD WebAssembly module (built from ../../csrc by scripts/build-wasm.mjs) and how calls reach it.
 *
 * The module imports its memory and allocates nothing itself: every buffer, scratch included, is an offset
 * chosen here. Two instances exist, each created on first use:
 * - own memory (cpu backend, or anything not on the tfjs wasm heap): a bump region above `__heap_base`, grown
 *   on demand and reused across calls; inputs are copied in and outputs copied out.
 * - the tfjs wasm backend's memory: tensors are read in place (their heap offsets are passed as pointers); one
 *   block per call from the backend's `_malloc` holds outputs, scratch and the stack (`__stack_pointer` is
 *   moved into it), freed after the call. Used when the backend's memory is not shared (else: copies).
 */
import * as tf from '@tensorflow/tfjs';
import {FLASH_SIMD_WASM_BASE64} from './flash_simd_wasm.generated';

/** The module's exports (see csrc/*.c for each signature). */
export interface FlashSimdExports {
  __heap_base: WebAssembly.Global;
  __stack_pointer: WebAssembly.Global;
  flash_forward_scratch(nk: number, d: number): number;
  flash_forward(q: number, k: number, v: number, kvLens: number, out: number, mOut: number, lOut: number,
                batch: number, nq: number, nk: number, hq: number, hkv: number, d: number, scale: number,
                causal: number, windowLeft: number, windowRight: number, scratch: number): void;
  flash_backward_scratch(nq: number, nk: number, d: number, group: number): number;
  flash_backward(q: number, k: number, v: number, kvLens: number, o: number, lse: number, dy: number, dq: number,
                 dk: number, dv: number, batch: number, nq: number, nk: number, hq: number, hkv: number, d: number,
                 scale: number, causal: number, windowLeft: number, windowRight: number, scratch: number): void;
  flash_decode_scratch(rows: number, d: number, hkv: number): number;
  flash_decode(q: number, k: number, v: number, lens: number, out: number, batch: number, nq: number,
               maxLength: number, hq: number, hkv: number, d: number, scale: number, scratch: number): void;
  exp2_array(x: number, y: number, n: number): void;
}

let bytes: Uint8Array<ArrayBuffer> | null = null;
let compiled: WebAssembly.Module | null = null;

/** The module's bytes (decoded once). */
export function flashSimdWasmBytes(): Uint8Array<ArrayBuffer> {
  if (bytes === null) {
    const g = globalThis as any;
    if (typeof g.atob === 'function') {
      const s: string = g.atob(FLASH_SIMD_WASM_BASE64);
      bytes = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    } else {
      bytes = new Uint8Array(g.Buffer.from(FLASH_SIMD_WASM_BASE64, 'base64') as ArrayLike<number>);
    }
  }
  return bytes;
}

/** Whether this runtime validates the module (WebAssembly with SIMD128, bulk memory, mutable globals). */
export function simdWasmSupported(): boolean {
  return typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function' &&
      WebAssembly.validate(flashSimdWasmBytes());
}

const STACK_BYTES = 65536;
const align16 = (n: number) => (n + 15) & ~15;

/** One instance of the module over one memory. */
export class FlashSimdInstance {
  readonly exports: FlashSimdExports;
  /** The `_malloc` block of the call in progress (tfjs heap only). */
  private block = 0;

  /** `heap`: the tfjs wasm backend's allocator when `memory` is its heap, else null (own memory). */
  constructor(readonly memory: WebAssembly.Memory,
              private readonly heap: {malloc(n: number): number; free(p: number): void} | null) {
    if (compiled === null) compiled = new WebAssembly.Module(flashSimdWasmBytes());
    this.exports = new WebAssembly.Instance(compiled, {env: {memory}}).exports as unknown as FlashSimdExports;
  }

  /** True when tensors in this memory can be passed in place. */
  get readsInPlace(): boolean {
    return this.heap !== null;
  }

  /** Reserves `bytes` for one call (own memory: above `__heap_base`, growing it; tfjs heap: `_malloc`). */
  acquire(bytes: number): number {
    if (this.heap !== null) {
      const at = this.heap.malloc(bytes + STACK_BYTES + 16);
      if (at === 0) throw new Error(`flashAttention (simd-wasm): cannot allocate ${bytes} bytes on the wasm heap`);
      this.block = at;
      // The module's stack grows down from the end of the block (16-byte aligned).
      this.exports.__stack_pointer.value = (at + bytes + STACK_BYTES + 16) & ~15;
      return align16(at);
    }
    const base = align16(this.exports.__heap_base.value as number);
    const need = base + bytes - this.memory.buffer.byteLength;
    if (need > 0) {
      try {
        this.memory.grow(Math.ceil(need / 65536));
      } catch (e) {
        throw new Error(`flashAttention (simd-wasm): cannot grow WebAssembly memory to ${base + bytes} bytes: ${e}`);
      }
    }
    return base;
  }

  /** Ends the call that `acquire` began (calls never overlap: JS runs them one at a time). */
  release(): void {
    if (this.heap !== null && this.block !== 0) this.heap.free(this.block);
    this.block = 0;
  }
}

let ownInstance: FlashSimdInstance | null = null;
let heapInstance: {memory: WebAssembly.Memory; instance: FlashSimdInstance | null} | null = null;

/** The instance over the module's own memory (created on first use). */
export function flashSimdModule(): FlashSimdInstance {
  if (ownInstance === null) ownInstance = new FlashSimdInstance(new WebAssembly.Memory({initial: 16}), null);
  return ownInstance;
}

/** The instance over the tfjs wasm backend's heap, if that backend is initialised and its memory importable. */
function tfjsHeapInstance(): FlashSimdInstance | null {
  const wasm = (tf.engine().registry as Record<string, any>)['wasm']?.wasm;
  const memory: unknown = wasm?.asm?.memory ?? wasm?.wasmExports?.memory ?? wasm?.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory) || typeof wasm._malloc !== 'function') return null;
  if (heapInstance === null || heapInstance.memory !== memory) {
    let instance: FlashSimdInstance | null = null;
    try {
      instance = new FlashSimdInstance(memory, {malloc: (n) => wasm._malloc(n), free: (p) => wasm._free(p)});
    } catch {
      instance = null;  // e.g. a shared (threaded) heap: the module imports a non-shared memory
    }
    heapInstance = {memory, instance};
  }
  return heapInstance.instance;
}

type Values = Float32Array | Int32Array;

/** Whether every array lives on the tfjs wasm heap and the module can read it there. */
export function readableInPlace(...arrays: Values[]): boolean {
  const heap = tfjsHeapInstance();
  return heap !== null && arrays.every((a) => a.buffer === heap.memory.buffer);
}

/** An input: `data` as vectors of `width` values, stored `padded` wide in the module (zeros after `width`). */
export interface KernelInput {
  data: Values;
  width?: number;
  padded?: number;
  /**
   * Copy only these vector ranges `[from, count, to]` (vector indices in `data` and in the module's copy of
   * `vectors` vectors), e.g. each batch row's valid cache prefix. Such inputs are never read in place.
   */
  segments?: {ranges: Array<[number, number, number]>; vectors: number};
}

/** An output: `vectors` vectors of `padded` floats in the module, returned `width` wide. */
export interface KernelOutput {
  vectors: number;
  width: number;
  padded: number;
}

/** Whether `x` lives in `instance`'s memory and can be passed as a pointer. */
function inPlace(instance: FlashSimdInstance, x: KernelInput): boolean {
  return instance.readsInPlace && x.data.buffer === instance.memory.buffer && x.segments === undefined &&
      (x.width ?? 1) === (x.padded ?? 1) && x.data.byteOffset % 4 === 0;
}

/** What the latest `callKernel` did (tests, benchmarks). */
export interface SimdCallInfo {
  /** 'tfjs-heap' (the tfjs wasm backend's memory) or 'own' (the module's memory). */
  memory: 'tfjs-heap' | 'own';
  /** Inputs passed as pointers into tensors, without a copy. */
  inputsReadInPlace: number;
  /** Bytes reserved for the call: copied inputs, outputs, scratch. */
  bytes: number;
}
let lastCall: SimdCallInfo = {memory: 'own', inputsReadInPlace: 0, bytes: 0};

/** What the latest SIMD kernel call did. */
export function lastSimdCall(): SimdCallInfo {
  return {...lastCall};
}

/**
 * Runs one kernel: places the inputs (in place on the tfjs heap when possible, else copied), reserves the
 * outputs and `scratchFloats` of scratch, calls `run(exports, inputPtrs, outputPtrs, scratchPtr)` and returns
 * dense copies of the outputs.
 */
export function callKernel(inputs: KernelInput[], outputs: KernelOutput[],
                           scratchFloats: (x: FlashSimdExports) => number,
                           run: (x: FlashSimdExports, ins: number[], outs: number[], scratch: number) => void):
    Float32Array[] {
  const onHeap = tfjsHeapInstance();
  const allOnHeap = onHeap !== null &&
      inputs.every((x) => x.data.length === 0 || x.data.buffer === onHeap.memory.buffer);
  const instance = allOnHeap ? onHeap : flashSimdModule();
  // Offsets first: growing the memory below detaches views of it (byteOffset then reads 0).
  const sources = inputs.map((x) => ({x, inPlace: inPlace(instance, x), offset: x.data.byteOffset,
                                      length: x.data.length, onHeap: x.data.buffer === instance.memory.buffer}));
  const sizeOf = (x: KernelInput) => {
    const vectors = x.segments?.vectors ?? x.data.length / (x.width ?? 1);
    return align16(vectors * (x.padded ?? 1) * 4);
  };
  let total = 0;
  const inAt = sources.map((s) => {
    if (s.inPlace) return -1;
    const at = total;
    total += sizeOf(s.x);
    return at;
  });
  const outAt = outputs.map((o) => {
    const at = total;
    total += align16(o.vectors * o.padded * 4);
    return at;
  });
  const scratchAt = total;
  total += align16(scratchFloats(instance.exports) * 4);
  const base = instance.acquire(total);
  lastCall = {memory: instance.readsInPlace ? 'tfjs-heap' : 'own', bytes: total,
              inputsReadInPlace: sources.filter((x) => x.inPlace).length};
  try {
    const buffer = instance.memory.buffer;
    const f32 = new Float32Array(buffer), i32 = new Int32Array(buffer);
    const inPtrs = sources.map((s, i) => {
      if (s.inPlace) return s.offset;
      const {x} = s;
      const src = s.onHeap ? new (x.data.constructor as any)(buffer, s.offset, s.length) as Values : x.data;
      const dst = src instanceof Int32Array ? i32 : f32;
      const to0 = (base + inAt[i]) / 4, width = x.width ?? 1, padded = x.padded ?? 1;
      const ranges = x.segments?.ranges ?? [[0, s.length / width, 0]];
      for (const [from, count, to] of ranges) {
        if (width === padded) {
          dst.set(src.subarray(from * width, (from + count) * width), to0 + to * padded);
          continue;
        }
        for (let r = 0; r < count; r++) {
          const at = to0 + (to + r) * padded;
          dst.set(src.subarray((from + r) * width, (from + r + 1) * width), at);
          dst.fill(0, at + width, at + padded);
        }
      }
      return base + inAt[i];
    });
    const outPtrs = outAt.map((at) => base + at);
    run(instance.exports, inPtrs, outPtrs, base + scratchAt);
    const view = new Float32Array(instance.memory.buffer);
    return outputs.map((o, i) => {
      const from = outPtrs[i] / 4;
      if (o.width === o.padded) return view.slice(from, from + o.vectors * o.width);
      const out = new Float32Array(o.vectors * o.width);
      for (let r = 0; r < o.vectors; r++) {
        out.set(view.subarray(from + r * o.padded, from + r * o.padded + o.width), r * o.width);
      }
      return out;
    });
  } finally {
    instance.release();
  }
}
