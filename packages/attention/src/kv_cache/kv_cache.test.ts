/**
 * KVCache: appends land at each row's own length (in place on cpu, wasm, webgpu), overflow and shape errors
 * name the argument, nothing leaks, and decoding over the cache equals the reference.
 */
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {describeBackends, expectClose, expectNoLeaks, expectThrowsMatching, randomArray,
        toFloat64} from '@tfjs-ext/core/testing';
import {DECODE_MASK} from '../flash_decode/contract';
import {flashDecode} from '../flash_decode/op';
import {flashAttentionReference} from '../flash_attention/reference';
import {appendComposite} from './append';
import {KVCache} from './kv_cache';

const B = 3, L = 12, H = 2, D = 4;
const ROW = H * D;

/** A host mirror of the cache: what the storage must hold after the same appends. */
class Mirror {
  k = new Float64Array(B * L * ROW);
  v = new Float64Array(B * L * ROW);
  lens = new Array<number>(B).fill(0);
  append(k: Float64Array, v: Float64Array, t: number, counts: number[]) {
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < counts[b]; i++) {
        for (let e = 0; e < ROW; e++) {
          this.k[(b * L + this.lens[b] + i) * ROW + e] = k[(b * t + i) * ROW + e];
          this.v[(b * L + this.lens[b] + i) * ROW + e] = v[(b * t + i) * ROW + e];
        }
      }
      this.lens[b] += counts[b];
    }
  }
}

/** Storage values of the valid positions only (the rest is unspecified). */
async function validPart(t: tf.Tensor, lens: number[]): Promise<number[]> {
  const all = await toFloat64(t);
  const out: number[] = [];
  for (let b = 0; b < B; b++) out.push(...all.subarray(b * L * ROW, (b * L + lens[b]) * ROW));
  return out;
}
const validMirror = (m: Float64Array, lens: number[]) =>
    lens.flatMap((len, b) => Array.from(m.subarray(b * L * ROW, (b * L + len) * ROW)));

describeBackends('KVCache', ({backend}) => {
  const inPlace = ['cpu', 'wasm', 'webgpu'].includes(backend);

  it('appends prompts and single tokens at each row\'s own length, in place', async () => {
    const cache = new KVCache({batch: B, maxLength: L, kvHeads: H, headDim: D});
    const storage = cache.keys;
    const mirror = new Mirror();
    let seed = 1;
    const steps: Array<{t: number; counts?: number[]}> = [
      {t: 5, counts: [5, 2, 0]},  // ragged prompts
      {t: 1}, {t: 1},
      {t: 3, counts: [0, 3, 1]},
      {t: 1},
    ];
    for (const {t, counts} of steps) {
      const k = randomArray(B * t * ROW, seed++), v = randomArray(B * t * ROW, seed++);
      const kT = tf.tensor4d(Float32Array.from(k), [B, t, H, D]), vT = tf.tensor4d(Float32Array.from(v), [B, t, H, D]);
      cache.append(kT, vT, counts);
      mirror.append(k, v, t, counts ?? [t, t, t]);
      tf.dispose([kT, vT]);
      expect(cache.lengths).to.deep.equal(mirror.lens);
      // Read after every step: on webgpu this also checks a CPU copy left by a read is not served stale.
      expectClose(await validPart(cache.keys, cache.lengths), validMirror(mirror.k, mirror.lens), {rtol: 0, atol: 0, name: 'keys'});
      expectClose(await validPart(cache.values, cache.lengths), validMirror(mirror.v, mirror.lens), {rtol: 0, atol: 0, name: 'values'});
    }
    expect(cache.lengths).to.deep.equal([8, 8, 4]);
    expect(cache.lastAppendPath).to.equal(inPlace ? 'in-place' : 'reallocate');
    if (inPlace) expect(cache.keys).to.equal(storage);  // the same preallocated tensor throughout
    const lensT = cache.lengthsTensor();
    expect(Array.from(await lensT.data())).to.deep.equal([8, 8, 4]);
    lensT.dispose();
    cache.dispose();
  });

  it('the composite append (backends without an in-place path) gives the same storage', async () => {
    const old = randomArray(B * L * ROW, 7), x = randomArray(B * 2 * ROW, 8);
    const cacheT = tf.tensor4d(Float32Array.from(old), [B, L, H, D]);
    const xT = tf.tensor4d(Float32Array.from(x), [B, 2, H, D]);
    const offsets = [0, 10, 4], counts = [2, 2, 1];
    const out = appendComposite(cacheT, xT, offsets, counts);
    const expected = Float64Array.from(old);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < counts[b]; i++) {
        for (let e = 0; e < ROW; e++) expected[(b * L + offsets[b] + i) * ROW + e] = x[(b * 2 + i) * ROW + e];
      }
    }
    expectClose(await toFloat64(out), expected, {rtol: 0, atol: 0, name: 'composite append'});
    tf.dispose([cacheT, xT, out]);
  });

  it('decoding over the cache equals the reference on the valid prefix', async () => {
    const cache = new KVCache({batch: B, maxLength: L, kvHeads: H, headDim: D});
    const mirror = new Mirror();
    const prompt = [4, 1, 7];
    const k = randomArray(B * 7 * ROW, 11), v = randomArray(B * 7 * ROW, 12);
    const kT = tf.tensor4d(Float32Array.from(k), [B, 7, H, D]), vT = tf.tensor4d(Float32Array.from(v), [B, 7, H, D]);
    cache.append(kT, vT, prompt);
    mirror.append(k, v, 7, prompt);
    const hq = 4;
    const q = randomArray(B * hq * D, 13);
    const qT = tf.tensor4d(Float32Array.from(q), [B, 1, hq, D]);
    const y = cache.attend(qT, {numSplits: 2});
    const z = flashDecode(qT, cache.keys, cache.values, cache.lengths);
    const expected = flashAttentionReference(q, mirror.k, mirror.v, mirror.lens,
                                             {batch: B, nq: 1, nk: L, hq, hkv: H, d: D},
                                             {...DECODE_MASK, scale: 1 / Math.sqrt(D)}).output;
    expectClose(await toFloat64(y), expected, {rtol: 2e-4, atol: 2e-5, name: 'attend'});
    expectClose(await toFloat64(z), expected, {rtol: 2e-4, atol: 2e-5, name: 'flashDecode(cache)'});
    tf.dispose([kT, vT, qT, y, z]);
    cache.dispose();
  });

  it('overflow throws a clear error and leaves the cache unchanged; truncate and reset', async () => {
    const cache = new KVCache({batch: B, maxLength: L, kvHeads: H, headDim: D});
    const big = tf.zeros([B, 10, H, D]) as tf.Tensor4D;
    cache.append(big, big);
    const more = tf.ones([B, 3, H, D]) as tf.Tensor4D;
    expectThrowsMatching(() => cache.append(more, more), ['k overflows', 'batch row 0 holds 10', 'appending 3',
                                                          'maxLength 12']);
    expect(cache.lengths).to.deep.equal([10, 10, 10]);
    cache.append(more, more, [2, 0, 1]);  // fits exactly (row 0) or with room
    expect(cache.lengths).to.deep.equal([12, 10, 11]);
    const one = tf.ones([B, 1, H, D]) as tf.Tensor4D;
    expectThrowsMatching(() => cache.append(one, one), ['overflows', 'batch row 0 holds 12']);
    cache.truncate([11, 10, 3]);  // drop rejected draft tokens
    expect(cache.lengths).to.deep.equal([11, 10, 3]);
    expectThrowsMatching(() => cache.truncate([12, 0, 0]), ['truncate', 'lengths[0] = 12', '[0, 11]']);
    expectThrowsMatching(() => cache.truncate([1, 1]), ['truncate', 'length 3']);
    const two = tf.fill([B, 1, H, D], 2) as tf.Tensor4D;
    cache.append(two, two);  // lands at the truncated lengths
    const keys = await toFloat64(cache.keys);
    for (const [b, pos] of [[0, 11], [1, 10], [2, 3]]) expect(keys[(b * L + pos) * ROW]).to.equal(2);
    two.dispose();
    cache.reset();
    expect(cache.lengths).to.deep.equal([0, 0, 0]);
    cache.append(one, one);
    expect(cache.lengths).to.deep.equal([1, 1, 1]);
    expect(Array.from(await (await toFloat64(cache.keys)).subarray(0, ROW))).to.deep.equal(new Array(ROW).fill(1));
    tf.dispose([big, more, one]);
    cache.dispose();
  });

  it('rejects bad shapes, dtypes and configs naming the argument', () => {
    const cache = new KVCache({batch: B, maxLength: L, kvHeads: H, headDim: D});
    const ok = tf.zeros([B, 1, H, D]) as tf.Tensor4D;
    const cases: Array<[() => unknown, Array<string | RegExp>]> = [
      [() => cache.append(tf.zeros([B, H, D]) as unknown as tf.Tensor4D, ok), ['k', 'rank 4', '[batch, T, kvHeads, headDim] = [3, T, 2, 4]']],
      [() => cache.append(ok, tf.zeros([B, H, D]) as unknown as tf.Tensor4D), ['v', 'rank 4']],
      [() => cache.append(tf.zeros([B, 1, 3, D]) as tf.Tensor4D, ok), ['k must have shape', '[3, T, 2, 4]', 'got [3, 1, 3, 4]']],
      [() => cache.append(tf.zeros([2, 1, H, D]) as tf.Tensor4D, ok), ['k must have shape']],
      [() => cache.append(ok, tf.zeros([B, 2, H, D]) as tf.Tensor4D), ['v must have the shape of k [3, 1, 2, 4]']],
      [() => cache.append(tf.zeros([B, 1, H, D], 'int32') as tf.Tensor4D, ok), ['k', 'float32']],
      [() => cache.append(ok, ok, [1, 1]), ['counts', 'length 3']],
      [() => cache.append(ok, ok, [1, 2, 0]), ['counts[1] = 2', '[0, 1]']],
      [() => new KVCache({batch: 0, maxLength: L, kvHeads: H, headDim: D}), ['config.batch', 'positive integer']],
      [() => new KVCache({batch: 1, maxLength: 2.5, kvHeads: H, headDim: D}), ['config.maxLength']],
    ];
    for (const [fn, fragments] of cases) expectThrowsMatching(fn, fragments);
    expect(cache.lengths).to.deep.equal([0, 0, 0]);
    cache.dispose();
    expectThrowsMatching(() => cache.append(ok, ok), ['KVCache', 'disposed']);
    expectThrowsMatching(() => cache.keys, ['disposed']);
    cache.dispose();  // idempotent
    tf.dispose(ok);
  });

  it('leaks nothing: construction inside tidy, appends, decode, dispose', async () => {
    const k = tf.ones([B, 2, H, D]) as tf.Tensor4D;
    const q = tf.ones([B, 1, H, D]) as tf.Tensor4D;
    await expectNoLeaks(async () => {
      let made: KVCache | undefined;
      tf.tidy(() => { made = new KVCache({batch: B, maxLength: L, kvHeads: H, headDim: D}); });
      const cache = made!;
      expect(cache.isDisposed).to.equal(false);
      cache.append(k, k);
      cache.append(k, k, [1, 2, 0]);
      const y = cache.attend(q);
      await y.data();
      y.dispose();
      cache.dispose();
      expect(cache.isDisposed).to.equal(true);
      return [];
    }, 'KVCache lifecycle');
    tf.dispose([k, q]);
  });
});
