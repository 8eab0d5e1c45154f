/**
 * PointNet++'s SIMD WebAssembly module (built from ../../csrc by core's build-wasm.mjs) on core's loader, and the
 * registry of host implementations of the scan kernels (FPS, ball query, 3-NN): 'js' (plain JS, always) and 'simd' (the
 * module, where the runtime validates it; the default then). Tests and benchmarks force one with `withForced`.
 */
import {ImplRegistry} from '@tfjs-ext/core';
import {SimdExports, SimdWasmModule} from '@tfjs-ext/core/simd';
import {POINTNET2_SIMD_WASM} from './pointnet2_simd_wasm.generated';

/** The module's exports (see csrc/points.c). */
export interface PointsSimdExports extends SimdExports {
  fps_scratch(n: number): number;
  fps(xyz: number, out: number, batch: number, n: number, npoint: number, scratch: number): void;
  ball_query_scratch(n: number): number;
  ball_query(xyz: number, centres: number, out: number, batch: number, n: number, s: number, nsample: number,
             r2: number, scratch: number): void;
  three_nn_scratch(m: number): number;
  three_nn(unknown: number, known: number, dist2: number, idx: number, batch: number, n: number, m: number,
           scratch: number): void;
}

/** The module (own memory on cpu, the tfjs heap on wasm). */
export const pointsSimd = new SimdWasmModule<PointsSimdExports>(POINTNET2_SIMD_WASM);

/** Host implementations of the FPS, ball-query and 3-NN kernels: 'js', and 'simd' where supported (then the default). */
export const pointImpls = new ImplRegistry<{name: string}>('pointnet2 host kernels', 'js');
pointImpls.register({name: 'js'});
if (pointsSimd.supported()) pointImpls.register({name: 'simd'});

/** Bit-exact int32 view of a float32 array the module returned (its outputs come back as Float32Array). */
export function asInt32(values: Float32Array): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length);
}
