/** Random SSD problems for the tests (float32-rounded so the float64 oracles see what the backends see). */
import * as tf from '@tensorflow/tfjs';
import {randomArray} from '@tfjs-ext/core/testing';
import type {SSDDims, SSDReferenceInputs} from './reference';

export interface SSDProblem {
  dims: SSDDims;
  f64: SSDReferenceInputs;
}

/** dt in [0.05, 0.6), A in (-2, -0.3], x, B, C, D, initialState in [-1, 1). */
export function makeProblem(dims: SSDDims, seed: number, withD: boolean, withInit: boolean): SSDProblem {
  const {batch, L, H, P, G, N} = dims;
  return {
    dims,
    f64: {
      x: randomArray(batch * L * H * P, seed),
      dt: randomArray(batch * L * H, seed + 1, 0.05, 0.6),
      A: randomArray(H, seed + 2, -2, -0.3),
      B: randomArray(batch * L * G * N, seed + 3),
      C: randomArray(batch * L * G * N, seed + 4),
      D: withD ? randomArray(H, seed + 5) : null,
      initialState: withInit ? randomArray(batch * H * P * N, seed + 6) : null,
    },
  };
}

/** The problem's inputs as float32 tensors (D / initialState undefined when null). */
export function toTensors({dims, f64}: SSDProblem) {
  const {batch, L, H, P, G, N} = dims;
  const t = <R extends tf.Rank>(v: Float64Array, shape: number[]) =>
      tf.tensor(Float32Array.from(v), shape, 'float32') as unknown as tf.Tensor<R>;
  return {
    x: t<tf.Rank.R4>(f64.x, [batch, L, H, P]) as tf.Tensor4D,
    dt: t<tf.Rank.R3>(f64.dt, [batch, L, H]) as tf.Tensor3D,
    A: t<tf.Rank.R1>(f64.A, [H]) as tf.Tensor1D,
    B: t<tf.Rank.R4>(f64.B, [batch, L, G, N]) as tf.Tensor4D,
    C: t<tf.Rank.R4>(f64.C, [batch, L, G, N]) as tf.Tensor4D,
    D: f64.D ? t<tf.Rank.R1>(f64.D, [H]) as tf.Tensor1D : undefined,
    initialState: f64.initialState ? t<tf.Rank.R4>(f64.initialState, [batch, H, P, N]) as tf.Tensor4D : undefined,
  };
}
