/**
 * The benchmark harness: outputs are never walked element by element (a peer's typed array is a leaf, large
 * containers are refused), tensors are collected and disposed, repetitions merge to medians with their spread,
 * and the peak-memory figure includes the SIMD modules' own memory.
 */
import * as tf from '@tensorflow/tfjs';
import {describeBackends} from '@tfjs-ext/core/testing';
import {expect} from 'chai';
import {CORE_SIMD_WASM} from '../simd/core_simd_wasm.generated';
import {SimdExports, SimdWasmModule} from '../simd';
import {BenchRow, measureVariant, mergeRepetitions, outputTensors} from './harness';
import {markdownTable} from './report';

describeBackends('bench harness', () => {
  it('never walks a typed array a variant returns', () => {
    let touched = 0;
    const values = new Float32Array(1 << 18);
    const spy = new Proxy(values, {
      get(t, k) { touched++; return Reflect.get(t, k); },
      ownKeys(t) { touched++; return Reflect.ownKeys(t); },
      getOwnPropertyDescriptor(t, k) { touched++; return Reflect.getOwnPropertyDescriptor(t, k); },
    });
    expect(outputTensors(spy)).to.deep.equal([]);
    expect(outputTensors([spy, {out: spy}])).to.deep.equal([]);
    // A few property reads (tf.Tensor's instanceof check reads 3 methods), never one per element (262144).
    expect(touched).to.be.below(16);
  });

  it('collects tensors from small arrays and plain objects, and refuses large containers', () => {
    const a = tf.scalar(1), b = tf.scalar(2), c = tf.scalar(3);
    const found = outputTensors({x: a, rest: [b, {deep: c}], note: 'text', lengths: new Int32Array(3)});
    expect(found).to.have.members([a, b, c]);
    tf.dispose([a, b, c]);
    expect(() => outputTensors(new Array(100).fill(0))).to.throw(/container of 100 entries; return tensors or typed/);
  });

  it('disposes the tensors a variant returns', async () => {
    const before = tf.memory().numTensors;
    await measureVariant({name: 'two tensors', run: () => [tf.ones([8]), {y: tf.zeros([4])}]},
                         {warmup: 1, repeats: 3});
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('counts the SIMD modules\' own memory in the peak', async () => {
    const simd = new SimdWasmModule<SimdExports & {axpy(x: number, y: number, n: number, a: number): void}>(
        CORE_SIMD_WASM);
    const n = 1 << 20;  // 3 x 4 MiB in the module's own memory (cpu: copies)
    const x = new Float32Array(n).fill(1);
    const m = await measureVariant({
      name: 'simd axpy',
      run: () => simd.call([{data: x}, {data: x}], [{vectors: n, width: 1, padded: 1}], () => 0,
                           (e, [xAt, yAt], [outAt]) => e.axpy(xAt, yAt, n, 2))[0],
    }, {warmup: 0, repeats: 3});
    expect(m.kernelPeakBytes).to.be.above(12 * 2 ** 20);
    expect(m.peakBytes).to.be.at.least(m.kernelPeakBytes!);
  });

  it('merges repetitions: median of medians, each kept, median ratio, largest peak', () => {
    const row = (variant: string, ms: number, speedup: number, peakMB: number): BenchRow => ({
      op: 'f', backend: 'cpu', size: 'N=1', variant, baseline: variant === 'base', medianMs: ms, minMs: ms - 1,
      runs: 5, gflops: 10 / ms, gbps: null, speedup, peakMB});
    const merged = mergeRepetitions([
      [row('base', 10, 1, 1), row('ours', 5, 2, 3)],
      [row('base', 30, 1, 2), row('ours', 10, 3, 1)],
      [row('base', 20, 1, 1), row('ours', 4, 5, 2)],
    ]);
    expect(merged.map((r) => r.medianMs)).to.deep.equal([20, 5]);
    expect(merged[1].repetitionMs).to.deep.equal([5, 10, 4]);
    expect(merged[1].speedup).to.equal(3);
    expect(merged[1].peakMB).to.equal(3);
    expect(merged[1].runs).to.equal(15);
    expect(merged[1].gflops).to.be.closeTo(2, 1e-12);
    expect(markdownTable(merged)).to.contain('| 5.00 (4.00-10.0, 3 reps) |');
  });
}, {only: ['cpu']});
