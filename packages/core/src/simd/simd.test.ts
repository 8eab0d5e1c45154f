/**
 * Core's SIMD pipeline: the build-time module rules (no data segments, only env.memory imported), and the loader
 * on its own memory (cpu) and over the tfjs wasm heap (wasm): inputs in place or copied, the stack inside the
 * call's block and 0 between calls, memory given back after a large call, peaks reported.
 */
import * as tf from '@tensorflow/tfjs';
import {describeBackends, expectClose} from '@tfjs-ext/core/testing';
import {expect} from 'chai';
import {hostTensorValues, tfjsWasmHeap} from '../internals';
import {CORE_SIMD_WASM} from './core_simd_wasm.generated';
import {decodeBase64, SimdExports, simdMemoryInfo, SimdWasmModule} from './index';

interface SelftestExports extends SimdExports {
  axpy(x: number, y: number, n: number, a: number): void;
  stack_address(fill: number): number;
}

/** y = a x + y through the module. */
function axpy(simd: SimdWasmModule<SelftestExports>, x: Float32Array, y: Float32Array, a: number): Float32Array {
  return simd.call([{data: x}, {data: y}], [{vectors: x.length, width: 1, padded: 1}], () => 0,
                   (m, [xAt, yAt], [outAt]) => {
                     new Float32Array(simdMemory(simd, m)).copyWithin(outAt / 4, yAt / 4, yAt / 4 + x.length);
                     m.axpy(xAt, outAt, x.length, a);
                   })[0];
}

function simdMemory(simd: SimdWasmModule<SelftestExports>, m: SelftestExports): ArrayBuffer {
  const heap = simd.heapInstance();
  return (heap !== null && heap.exports === m ? heap.memory : simd.ownInstance().memory).buffer as ArrayBuffer;
}

/** A section: id, LEB128 size (< 128 here), body. */
const section = (id: number, body: number[]) => [id, body.length, ...body];
const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

describe('SIMD module rules (build-wasm.mjs checks them)', () => {
  const good = decodeBase64(CORE_SIMD_WASM.base64);
  let wasmModuleProblems: (bytes: Uint8Array) => string[];
  before(async () => {
    ({wasmModuleProblems} = await import('../../scripts/wasm_sections.mjs'));  // the build script's own checker
  });

  it('accepts the generated module', () => {
    expect(wasmModuleProblems(good)).to.deep.equal([]);
  });

  it('rejects a module with a data segment (it would be written over tfjs\'s heap)', () => {
    // One active segment: memory 0, offset i32.const 0, one byte.
    const withData = Uint8Array.from([...good, ...section(11, [1, 0, 0x41, 0, 0x0b, 1, 42])]);
    const problems = wasmModuleProblems(withData);
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/1 data segment.*over the imported memory/);
  });

  it('rejects imports other than env.memory and a module without the stack pointer export', () => {
    const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const types = section(1, [1, 0x60, 0, 0]);
    const imports = section(2, [1, ...name('env'), ...name('memcpy'), 0, 0]);
    const problems = wasmModuleProblems(Uint8Array.from([...header, ...types, ...imports]));
    expect(problems.join('\n')).to.match(/imports env\.memcpy \(function\)/);
    expect(problems.join('\n')).to.match(/does not import env\.memory/);
    expect(problems.join('\n')).to.match(/does not export __stack_pointer/);
    expect(wasmModuleProblems(Uint8Array.from([1, 2, 3]))).to.deep.equal(['not a WebAssembly (v1) module']);
  });
});

describeBackends('SIMD module loader', ({backend}) => {
  const x = Float32Array.from({length: 1001}, (_, i) => Math.sin(i));
  const y = Float32Array.from({length: 1001}, (_, i) => Math.cos(i));
  const want = Float64Array.from(x, (v, i) => Math.fround(2.5 * v) + y[i]);

  it('runs a kernel on copied inputs', () => {
    const simd = new SimdWasmModule<SelftestExports>(CORE_SIMD_WASM);
    expect(simd.supported()).to.equal(true);
    expectClose(axpy(simd, x, y, 2.5), want, {name: 'axpy', rtol: 1e-6, atol: 1e-6});
    expect(simd.lastCall()).to.deep.equal({memory: 'own', inputsReadInPlace: 0, bytes: 3 * 4016});
  });

  it(backend === 'wasm' ? 'reads tensors in place on the tfjs wasm heap' : 'copies cpu tensors into its own memory', () => {
    const simd = new SimdWasmModule<SelftestExports>(CORE_SIMD_WASM);
    const tx = tf.tensor1d(x), ty = tf.tensor1d(y);
    // What host kernels get: the cpu backend's arrays, or views of the wasm heap.
    const [vx, vy] = [tx, ty].map((t) => hostTensorValues(tf.backend(), t) as Float32Array);
    const heap = tfjsWasmHeap();  // also found on cpu once the wasm backend was initialised: then not used
    if (backend === 'wasm') expect(heap).to.not.equal(null);
    const out = axpy(simd, vx, vy, 2.5);
    tf.dispose([tx, ty]);
    expectClose(out, want, {name: 'axpy', rtol: 1e-6, atol: 1e-6});
    const shared = heap !== null && heap.memory.buffer instanceof (globalThis.SharedArrayBuffer ?? class {});
    const inPlace = backend === 'wasm' && !shared;
    expect(simd.lastCall().memory).to.equal(inPlace ? 'tfjs-heap' : 'own');
    expect(simd.lastCall().inputsReadInPlace).to.equal(inPlace ? 2 : 0);
  });

  if (backend === 'wasm') it('keeps the stack inside the call\'s block on the tfjs heap, and at 0 between calls', () => {
    const simd = new SimdWasmModule<SelftestExports>(CORE_SIMD_WASM);
    const instance = simd.heapInstance();
    const heap = tfjsWasmHeap()!;
    if (heap.memory.buffer instanceof (globalThis.SharedArrayBuffer ?? class {})) {
      expect(instance, 'no instance over a shared (threaded) heap: calls copy').to.equal(null);
      return;
    }
    expect(instance, 'an instance over the tfjs heap').to.not.equal(null);
    const t = tf.tensor1d([1, 2, 3, 4]);
    const view = hostTensorValues(tf.backend(), t) as Float32Array;
    let block = 0, local = 0;
    simd.call([{data: view}], [{vectors: 4, width: 1, padded: 1}], () => 1024, (m, ins, [outAt], scratch) => {
      block = outAt;
      local = m.stack_address(7);
      expect(scratch).to.be.above(outAt);
    });
    t.dispose();
    expect(view.buffer).to.equal(heap.memory.buffer);
    // The block: [outAt, outAt + 16 + 4096 + stack); the locals lie between the call's buffers and its end.
    expect(local).to.be.above(block + 16 + 4096 - 1);
    expect(local).to.be.below(block + 16 + 4096 + CORE_SIMD_WASM.stackBytes + 32);
    expect(instance!.exports.__stack_pointer.value).to.equal(0);
    // A stray call with no block traps instead of writing below address 0 of tfjs's heap.
    expect(() => instance!.exports.stack_address(1)).to.throw();
  });

  it('gives its own memory back after a call larger than retainBytes, and reports the peak', () => {
    const simd = new SimdWasmModule<SelftestExports>(CORE_SIMD_WASM, 2 * 2 ** 20);
    const small = axpy(simd, x, y, 2.5);
    expect(small.length).to.equal(x.length);
    const kept = simd.memoryInfo().retainedBytes;
    expect(kept).to.be.within(2 ** 20, 2 * 2 ** 20);  // 16 pages initially: reused, not given back
    simd.resetPeak();
    const n = 1 << 20;  // 3 x 4 MiB reserved
    const bx = new Float32Array(n).fill(1), by = new Float32Array(n).fill(2);
    const big = axpy(simd, bx, by, 3);
    expect(big[0]).to.equal(5);
    expect(big[n - 1]).to.equal(5);
    expect(simd.memoryInfo().peakBytes).to.be.above(12 * 2 ** 20);
    expect(simd.memoryInfo().retainedBytes).to.equal(0);
    expect(simdMemoryInfo().peakBytes).to.be.at.least(simd.memoryInfo().peakBytes);
    // The next call starts a fresh, small memory and is still correct.
    expectClose(axpy(simd, x, y, 2.5), want, {name: 'axpy after release', rtol: 1e-6, atol: 1e-6});
    expect(simd.memoryInfo().retainedBytes).to.be.at.most(2 * 2 ** 20);
  });
}, {only: ['cpu', 'wasm']});
