/**
 * `HostDecodeImpl` 'simd-wasm': csrc/flash_decode.c through `callKernel`. On the tfjs wasm heap the caches are
 * read in place; otherwise only each batch row's valid prefix (rows `< cacheLengths[b]` of `[maxLength, Hkv, D]`,
 * one contiguous span) is copied into the module's memory.
 */
import {cacheLengthError, DecodeDims, FlashDecodeAttrs, HostDecodeImpl} from '../flash_decode/contract';
import {callKernel, KernelInput, readableInPlace} from './module';

export function simdDecode(q: Float32Array, kCache: Float32Array, vCache: Float32Array, cacheLengths: Int32Array,
                           dims: DecodeDims, attrs: FlashDecodeAttrs): Float32Array {
  const {batch, nq, maxLength, hq, hkv, d} = dims;
  let longest = 0;
  for (let b = 0; b < batch; b++) {
    const len = cacheLengths[b];
    if (!(len >= 0 && len <= maxLength)) throw cacheLengthError(b, len, maxLength);
    longest = Math.max(longest, len);
  }
  const dp = (d + 3) & ~3;
  // Copies keep only the valid prefixes, `longest` rows apart; in place, rows stay `maxLength` apart.
  const ranges = Array.from({length: batch}, (_, b): [number, number, number] =>
      [b * maxLength * hkv, cacheLengths[b] * hkv, b * longest * hkv]);
  const cache = (data: Float32Array, inPlace: boolean): KernelInput => inPlace ? {data, width: d, padded: dp} :
      {data, width: d, padded: dp, segments: {ranges, vectors: batch * longest * hkv}};
  const run = (inPlace: boolean) => callKernel(
      [{data: q, width: d, padded: dp}, cache(kCache, inPlace), cache(vCache, inPlace), {data: cacheLengths}],
      [{vectors: batch * nq * hq, width: d, padded: dp}],
      (x) => x.flash_decode_scratch(hq / hkv * nq, dp, hkv),
      (x, [qAt, kAt, vAt, lensAt], [outAt], scratch) => x.flash_decode(
          qAt, kAt, vAt, lensAt, outAt, batch, nq, inPlace ? maxLength : longest, hq, hkv, dp, attrs.scale, scratch));
  // Both paths are correct; in place (the full caches, rows maxLength apart) only pays off on the tfjs heap.
  return (d === dp && readableInPlace(q, kCache, vCache, cacheLengths) ? run(true) : run(false))[0];
}

export const simdHostDecodeImpl: HostDecodeImpl = {name: 'simd-wasm', decode: simdDecode};
