/**
 * The loader of a package's SIMD WebAssembly module (built from its csrc/ by core/scripts/build-wasm.mjs) and
 * how calls reach it. See README.md in this folder for the rules a module and its caller follow.
 *
 * The module imports its memory and allocates nothing itself: every buffer, scratch included, is an offset
 * chosen here. Two instances exist per module, each created on first use:
 * - own memory (cpu backend, or anything not on the tfjs wasm heap): a region above `__heap_base`, grown on
 *   demand for a call; inputs are copied in and outputs copied out. After a call that left the memory larger
 *   than `retainBytes`, the instance is dropped, so its memory goes back to the garbage collector (a
 *   WebAssembly memory cannot shrink) and at most `retainBytes` stay reserved between calls.
 * - the tfjs wasm backend's memory: tensors are read in place (their heap offsets are passed as pointers); one
 *   block per call from the backend's `_malloc` holds copied inputs, outputs, scratch and the stack
 *   (`__stack_pointer` is moved into it), freed after the call. Between calls the stack pointer is 0, so a
 *   stray call outside `call()` traps instead of writing into freed (or tfjs's own) memory. Used when the
 *   backend's memory is not shared (else: the own instance, with copies).
 */
import {tfjsWasmHeap} from '../internals';
import {decodeBase64} from './base64';

/** What build-wasm.mjs generates for a package (`<PKG>_SIMD_WASM` in `src/simd/<pkg>_simd_wasm.generated.ts`). */
export interface SimdWasmSource {
  /** The package (used in messages). */
  name: string;
  /** The stack size the module was linked with (bytes). */
  stackBytes: number;
  /** The module's bytes, base64. */
  base64: string;
}

/** Exports every module has (the linker's); a package extends this with its kernels' signatures. */
export interface SimdExports {
  __heap_base: WebAssembly.Global;
  __stack_pointer: WebAssembly.Global;
}

type Values = Float32Array | Int32Array;

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

/** What the latest `call` did (tests, benchmarks). */
export interface SimdCallInfo {
  /** 'tfjs-heap' (the tfjs wasm backend's memory) or 'own' (the module's memory). */
  memory: 'tfjs-heap' | 'own';
  /** Inputs passed as pointers into tensors, without a copy. */
  inputsReadInPlace: number;
  /** Bytes reserved for the call: copied inputs, outputs, scratch (not the stack). */
  bytes: number;
}

/** A module's memory outside tfjs tensors (what benchmarks add to tfjs's peak). */
export interface SimdMemoryInfo {
  /** Bytes held now between calls: the own instance's linear memory (0 when dropped). */
  retainedBytes: number;
  /**
   * The most held during one call since the last `resetPeak()`: the own memory's size, or the heap block
   * (reservation + stack), whichever was larger.
   */
  peakBytes: number;
}

const align16 = (n: number) => (n + 15) & ~15;
const PAGE = 65536;

/** One instance of a module over one memory. */
export class SimdInstance<E extends SimdExports> {
  readonly exports: E;
  /** The `_malloc` block of the call in progress (tfjs heap only). */
  private block = 0;

  /** `heap`: the tfjs wasm backend's allocator when `memory` is its heap, else null (own memory). */
  constructor(compiled: WebAssembly.Module, readonly memory: WebAssembly.Memory,
              private readonly heap: {malloc(n: number): number; free(p: number): void} | null,
              private readonly stackBytes: number, private readonly label: string) {
    this.exports = new WebAssembly.Instance(compiled, {env: {memory}}).exports as unknown as E;
    if (heap !== null) this.exports.__stack_pointer.value = 0;  // no stack until a call's block exists
  }

  /** True when tensors in this memory can be passed in place. */
  get readsInPlace(): boolean {
    return this.heap !== null;
  }

  /**
   * Reserves `bytes` for one call and returns their offset (own memory: above `__heap_base`, growing it; tfjs
   * heap: one `_malloc` block that also holds the stack). Returns the bytes held for the call.
   */
  acquire(bytes: number): {at: number; held: number} {
    if (this.heap !== null) {
      const held = bytes + this.stackBytes + 32;
      const at = this.heap.malloc(held);
      if (at === 0) throw new Error(`${this.label}: cannot allocate ${held} bytes on the tfjs wasm heap`);
      this.block = at;
      // The stack grows down from the end of the block (16-byte aligned), above the call's buffers.
      this.exports.__stack_pointer.value = (at + held) & ~15;
      return {at: align16(at), held};
    }
    const base = align16(this.exports.__heap_base.value as number);
    const need = base + bytes - this.memory.buffer.byteLength;
    if (need > 0) {
      try {
        this.memory.grow(Math.ceil(need / PAGE));
      } catch (e) {
        throw new Error(`${this.label}: cannot grow its WebAssembly memory to ${base + bytes} bytes: ${e}`);
      }
    }
    return {at: base, held: this.memory.buffer.byteLength};
  }

  /** Ends the call that `acquire` began (calls never overlap: JS runs them one at a time). */
  release(): void {
    if (this.heap !== null) {
      this.exports.__stack_pointer.value = 0;
      if (this.block !== 0) this.heap.free(this.block);
    }
    this.block = 0;
  }
}

const modules: Array<SimdWasmModule<SimdExports>> = [];

/**
 * One package's SIMD module: decoding, validation, the two instances and `call`, which places inputs, reserves
 * outputs and scratch, runs a kernel and returns dense copies of the outputs.
 *
 * @example
 * ```ts
 * import {SimdExports, SimdWasmModule} from '@tfjs-ext/core/simd';
 * import {MYPKG_SIMD_WASM} from './mypkg_simd_wasm.generated';
 * interface MyExports extends SimdExports { axpy(x: number, y: number, n: number, a: number): void; }
 * const simd = new SimdWasmModule<MyExports>(MYPKG_SIMD_WASM);
 * const [y] = simd.call([{data: x}, {data: y0}], [{vectors: n, width: 1, padded: 1}], () => 0,
 *                       (m, [xAt, yAt], [outAt]) => { ... });
 * ```
 */
export class SimdWasmModule<E extends SimdExports> {
  private bytesCache: Uint8Array<ArrayBuffer> | null = null;
  private compiled: WebAssembly.Module | null = null;
  private own: SimdInstance<E> | null = null;
  private onHeap: {memory: WebAssembly.Memory; instance: SimdInstance<E> | null} | null = null;
  private last: SimdCallInfo = {memory: 'own', inputsReadInPlace: 0, bytes: 0};
  private peak = 0;
  private readonly label: string;

  /**
   * @param source what build-wasm.mjs generated for the package.
   * @param retainBytes own linear memory kept between calls; a call that grows it past this drops the instance
   *   afterwards (default 16 MiB).
   */
  constructor(readonly source: SimdWasmSource, readonly retainBytes = 16 * 2 ** 20) {
    this.label = `SIMD module '${source.name}'`;
    modules.push(this as unknown as SimdWasmModule<SimdExports>);
  }

  /** The module's bytes (decoded once). */
  bytes(): Uint8Array<ArrayBuffer> {
    if (this.bytesCache === null) this.bytesCache = decodeBase64(this.source.base64);
    return this.bytesCache;
  }

  /** Whether this runtime validates the module (WebAssembly with SIMD128, bulk memory, mutable globals). */
  supported(): boolean {
    return typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function' &&
        WebAssembly.validate(this.bytes());
  }

  private module(): WebAssembly.Module {
    if (this.compiled === null) this.compiled = new WebAssembly.Module(this.bytes());
    return this.compiled;
  }

  /** The instance over the module's own memory (created on first use, and again after a large call). */
  ownInstance(): SimdInstance<E> {
    if (this.own === null) {
      this.own = new SimdInstance<E>(this.module(), new WebAssembly.Memory({initial: 16}), null,
                                     this.source.stackBytes, this.label);
    }
    return this.own;
  }

  /** The instance over the tfjs wasm backend's heap, if that backend is initialised and its memory importable. */
  heapInstance(): SimdInstance<E> | null {
    const heap = tfjsWasmHeap();
    if (heap === null) return null;
    if (this.onHeap === null || this.onHeap.memory !== heap.memory) {
      let instance: SimdInstance<E> | null = null;
      try {
        instance = new SimdInstance<E>(this.module(), heap.memory, heap, this.source.stackBytes, this.label);
      } catch {
        instance = null;  // e.g. a shared (threaded) heap: the module imports a non-shared memory
      }
      this.onHeap = {memory: heap.memory, instance};
    }
    return this.onHeap.instance;
  }

  /** Whether every array lives on the tfjs wasm heap and the module can read it there. */
  readableInPlace(...arrays: Values[]): boolean {
    const heap = this.heapInstance();
    return heap !== null && arrays.every((a) => a.buffer === heap.memory.buffer);
  }

  /** What the latest `call` did. */
  lastCall(): SimdCallInfo {
    return {...this.last};
  }

  /** The module's own memory now and at its peak since `resetPeak()`. */
  memoryInfo(): SimdMemoryInfo {
    return {retainedBytes: this.own?.memory.buffer.byteLength ?? 0, peakBytes: this.peak};
  }

  /** Starts a new peak measurement at what is held now. */
  resetPeak(): void {
    this.peak = this.own?.memory.buffer.byteLength ?? 0;
  }

  /** Drops the own instance now (its memory goes back to the garbage collector). */
  releaseMemory(): void {
    this.own = null;
  }

  /**
   * Runs one kernel: places the inputs (in place on the tfjs heap when possible, else copied), reserves the
   * outputs and `scratchFloats` of scratch, calls `run(exports, inputPtrs, outputPtrs, scratchPtr)` and returns
   * dense copies of the outputs.
   */
  call(inputs: KernelInput[], outputs: KernelOutput[], scratchFloats: (x: E) => number,
       run: (x: E, ins: number[], outs: number[], scratch: number) => void): Float32Array[] {
    const onHeap = this.heapInstance();
    const allOnHeap = onHeap !== null &&
        inputs.every((x) => x.data.length === 0 || x.data.buffer === onHeap.memory.buffer);
    const instance = allOnHeap ? onHeap : this.ownInstance();
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
    const {at: base, held} = instance.acquire(total);
    this.peak = Math.max(this.peak, held);
    this.last = {memory: instance.readsInPlace ? 'tfjs-heap' : 'own', bytes: total,
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
      if (instance === this.own && instance.memory.buffer.byteLength > this.retainBytes) this.own = null;
    }
  }
}

/** Whether `x` lives in `instance`'s memory and can be passed as a pointer. */
function inPlace(instance: SimdInstance<SimdExports>, x: KernelInput): boolean {
  return instance.readsInPlace && x.data.buffer === instance.memory.buffer && x.segments === undefined &&
      (x.width ?? 1) === (x.padded ?? 1) && x.data.byteOffset % 4 === 0;
}

/** Every SIMD module's own memory, summed (benchmarks add it to tfjs's peak). */
export function simdMemoryInfo(): SimdMemoryInfo {
  let retainedBytes = 0, peakBytes = 0;
  for (const m of modules) {
    const info = m.memoryInfo();
    retainedBytes += info.retainedBytes;
    peakBytes += info.peakBytes;
  }
  return {retainedBytes, peakBytes};
}

/** Starts a new peak measurement on every SIMD module. */
export function resetSimdPeaks(): void {
  for (const m of modules) m.resetPeak();
}
