/** Argument checks shared by the ops' public entry points (messages name the argument and the layout). */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertRank, shapeString} from '@tfjs-ext/core';

/** `x` is a float32 `[B, N, 3]` point cloud. */
export function assertCloud(x: unknown, op: string, name: string, layout = '[batch, numPoints, 3]'): asserts x is tf.Tensor3D {
  assertRank(x, 3, op, name, layout);
  assertDtype(x, ['float32'], op, name);
  assertArg(x.shape[2] === 3, op, () => `${name} must have shape ${layout}, got ${shapeString(x.shape)}`);
}

/** `x` is an int32 index tensor of rank `rank`. */
export function assertIndices(x: unknown, rank: number, op: string, name: string, layout: string): asserts x is tf.Tensor {
  assertRank(x, rank, op, name, layout);
  assertDtype(x, ['int32'], op, name);
}

/** Both tensors have the same batch size. */
export function assertSameBatch(a: tf.Tensor, b: tf.Tensor, op: string, aName: string, bName: string): void {
  assertArg(a.shape[0] === b.shape[0], op, () =>
      `${bName} must have the batch size of ${aName} (${a.shape[0]}), got shape ${shapeString(b.shape)}`);
}

/** Flat row offsets `b * rows` for a batch, as int32 `[B, 1, ..., 1]` (rank `rank`) for flat gathers. */
export function batchOffsets(batch: number, rows: number, rank: number): tf.Tensor {
  const shape = [batch, ...new Array(rank - 1).fill(1)];
  return tf.reshape(tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(rows, 'int32')), shape);
}
