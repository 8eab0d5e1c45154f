/** Argument checks the three loss ops share: messages name the argument and what was expected. */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertKnownKeys, shapeString} from '@tfjs-ext/core';

export {assertKnownKeys};

/** `x` is a tf.Tensor of rank >= `minRank`. */
export function assertTensor(x: unknown, op: string, name: string, minRank: number, layout: string): asserts x is tf.Tensor {
  assertArg(x instanceof tf.Tensor, op, () => `${name} must be a tf.Tensor ${layout}, got ${typeof x}`);
  assertArg((x as tf.Tensor).rank >= minRank, op, () =>
      `${name} must have rank >= ${minRank} ${layout}, got shape ${shapeString((x as tf.Tensor).shape)}`);
}

/** `a.shape` equals `expected` (the shape of `refName`). */
export function assertSameShape(a: tf.Tensor, expected: readonly number[], op: string, name: string,
                                refName: string): void {
  assertArg(a.shape.length === expected.length && a.shape.every((s, i) => s === expected[i]), op, () =>
      `${name} must have the shape of ${refName} ${shapeString(expected)}, got ${shapeString(a.shape)}`);
}

/** `t` is float32 `[batch]`. */
export function assertTimes(t: unknown, batch: number, op: string): asserts t is tf.Tensor1D {
  assertArg(t instanceof tf.Tensor, op, () => `t must be a tf.Tensor [batch], got ${typeof t}`);
  const tt = t as tf.Tensor;
  assertArg(tt.rank === 1 && tt.shape[0] === batch, op, () =>
      `t must have shape [batch] = [${batch}], got ${shapeString(tt.shape)}`);
  assertDtype(tt, ['float32'], op, 't');
}

/** A finite number in the open interval (lo, hi). */
export function assertOpenInterval(value: unknown, lo: number, hi: number, op: string, name: string): asserts value is number {
  assertArg(typeof value === 'number' && value > lo && value < hi, op, () =>
      `${name} must be a number in (${lo}, ${hi}), got ${value}`);
}

/** Backends whose tensors live in host memory: values can be checked without a device round trip. */
function valuesOnHost(x: tf.Tensor): boolean {
  const b = tf.getBackend();
  // cpu keeps its tensors in `data`, wasm in `dataIdMap` (both tfjs DataStorage)
  type Storage = {has?(id: object): boolean};
  const backend = tf.engine().backend as unknown as {data?: Storage; dataIdMap?: Storage};
  const storage = b === 'cpu' ? backend.data : b === 'wasm' ? backend.dataIdMap : undefined;
  return storage?.has?.(x.dataId) === true;
}

/**
 * On host backends (cpu, wasm) reads `x` and throws unless every value lies in [lo, hi]. On device backends
 * the check would cost a synchronous device read per call (and cannot run at all on WebGPU in Node), so it is
 * skipped there; out-of-range values then give an undefined loss.
 */
export function assertValuesInRange(x: tf.Tensor, lo: number, hi: number, op: string, name: string,
                                    integer = false): void {
  if (!valuesOnHost(x)) return;
  const v = x.dataSync();
  for (let i = 0; i < v.length; i++) {
    const value = v[i];
    if (!(value >= lo && value <= hi) || (integer && !Number.isInteger(value))) {
      throw new Error(`${op}: ${name} must hold values in [${lo}, ${hi}]${integer ? ' (integers)' : ''}, ` +
                      `got ${value} at flat index ${i}`);
    }
  }
}
