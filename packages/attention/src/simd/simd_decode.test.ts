/**
 * The SIMD WebAssembly flash-decode host kernel ('simd-wasm') on the cpu and wasm backends: equal to the
 * float64 flash-attention reference on each row's valid cache prefix (causal, bottom-right aligned), for MHA,
 * GQA and MQA, one and several query rows, ragged lengths (1 and maxLength included), padded head dims.
 */
import * as tf from '@tensorflow/tfjs';
import {describeBackends, expectClose, expectNoLeaks, randomArray} from '@tfjs-ext/core/testing';
import {expect} from 'chai';
import {FlashAttentionAttrs} from '../flash_attention/contract';
import {flashAttentionReference} from '../flash_attention/reference';
import {activeHostDecodeImpl, withHostDecodeImpl} from '../flash_decode/contract';
import {flashDecode} from '../flash_decode/op';
import {lastSimdCall, simdStatus} from './index';

interface DecodeCase {
  name: string;
  batch: number; nq: number; maxLength: number; hq: number; hkv: number; d: number;
  lengths: number[];
}

const CASES: DecodeCase[] = [
  {name: 'MHA, one token, D=64, lengths [1, 200, 257]', batch: 3, nq: 1, maxLength: 257, hq: 2, hkv: 2, d: 64,
   lengths: [1, 200, 257]},
  {name: 'GQA, 3 query rows, D=32, lengths [130, 3]', batch: 2, nq: 3, maxLength: 130, hq: 4, hkv: 2, d: 32,
   lengths: [130, 3]},
  {name: 'MQA, one token, D=80, length 65', batch: 1, nq: 1, maxLength: 100, hq: 5, hkv: 1, d: 80, lengths: [65]},
  {name: 'D=6 (padded), 2 query rows, lengths [1, 0]: rows that see no key', batch: 2, nq: 2, maxLength: 9, hq: 1,
   hkv: 1, d: 6, lengths: [1, 0]},
];

/** Reference: flash attention with causal masking on each batch row's prefix (kvLengths = lengths). */
function reference(c: DecodeCase, q: Float64Array, k: Float64Array, v: Float64Array): Float64Array {
  const attrs: FlashAttentionAttrs = {scale: 1 / Math.sqrt(c.d), causal: true, windowLeft: -1, windowRight: -1};
  return flashAttentionReference(q, k, v, c.lengths,
      {batch: c.batch, nq: c.nq, nk: c.maxLength, hq: c.hq, hkv: c.hkv, d: c.d}, attrs).output;
}

describeBackends('flash decode SIMD wasm kernel', ({backend}) => {
  before(function() {
    if (!simdStatus.use) this.skip();
  });

  it('is the active host decode implementation', () => {
    expect(activeHostDecodeImpl().name).to.equal('simd-wasm');
  });

  for (const c of CASES) {
    it(`matches flash attention on the valid prefix: ${c.name}`, async () => {
      const qShape: [number, number, number, number] = [c.batch, c.nq, c.hq, c.d];
      const kShape: [number, number, number, number] = [c.batch, c.maxLength, c.hkv, c.d];
      const q = randomArray(c.batch * c.nq * c.hq * c.d, 31), k = randomArray(c.batch * c.maxLength * c.hkv * c.d, 32);
      const v = randomArray(k.length, 33);
      const [qT, kT, vT] = [tf.tensor4d(Float32Array.from(q), qShape), tf.tensor4d(Float32Array.from(k), kShape),
                            tf.tensor4d(Float32Array.from(v), kShape)];
      const lens = tf.tensor1d(c.lengths, 'int32');
      const out = flashDecode(qT, kT, vT, lens);
      // The wasm backend's tensors are read in place (q, caches, lengths; only lengths when D needs padding),
      // unless its heap is shared (multi-threaded tfjs wasm), which the module cannot import.
      const heap: WebAssembly.Memory | undefined = (tf.backend() as any).wasm?.asm?.memory;
      const inPlace = backend === 'wasm' && !(heap?.buffer instanceof (globalThis.SharedArrayBuffer ?? class {}));
      expect(lastSimdCall().inputsReadInPlace).to.equal(inPlace ? (c.d % 4 === 0 ? 4 : 1) : 0);
      const got = await out.data();
      const js = withHostDecodeImpl('js', () => flashDecode(qT, kT, vT, lens));
      const gotJs = await js.data();
      tf.dispose([qT, kT, vT, lens, out, js]);
      const want = reference(c, q, k, v);
      expectClose(got, want, {name: 'simd decode', rtol: 1e-4, atol: 1e-5});
      expectClose(got, gotJs, {name: 'simd vs js decode', rtol: 1e-4, atol: 1e-5});
    });
  }

  it('rejects cacheLengths outside [0, maxLength] and leaks nothing', async () => {
    const q = tf.randomNormal([1, 1, 2, 8]) as tf.Tensor4D, kv = tf.randomNormal([1, 10, 2, 8]) as tf.Tensor4D;
    expect(() => flashDecode(q, kv, kv, [11])).to.throw(/cacheLengths\[0\] = 11/);
    await expectNoLeaks(() => flashDecode(q, kv, kv, [7]), 'flashDecode');
    tf.dispose([q, kv]);
  });
}, {only: ['cpu', 'wasm']});
