/**
 * Argument checks for public entry points. Messages are built lazily (only on failure), name the argument and
 * say what was expected.
 */
import * as tf from '@tensorflow/tfjs';

/** `[2, 3, 4]` */
export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Throws `Error(`${op}: ${message()}`)` unless `cond`. */
export function assertArg(cond: boolean, op: string, message: () => string): asserts cond {
  if (!cond) throw new Error(`${op}: ${message()}`);
}

/** Asserts `x` is a tf.Tensor of the given rank; `layout` (e.g. `[batch, seq, heads, headDim]`) is quoted. */
export function assertRank(x: unknown, rank: number, op: string, name: string, layout?: string): asserts x is tf.Tensor {
  assertArg(x instanceof tf.Tensor, op, () => `${name} must be a tf.Tensor, got ${typeof x}`);
  const t = x as tf.Tensor;
  assertArg(t.rank === rank, op, () =>
      `${name} must have rank ${rank}${layout ? ` ${layout}` : ''}, got rank ${t.rank} with shape ${shapeString(t.shape)}`);
}

/** Asserts `x.dtype` is one of `dtypes`. */
export function assertDtype(x: tf.Tensor, dtypes: readonly tf.DataType[], op: string, name: string): void {
  assertArg(dtypes.includes(x.dtype), op, () => `${name} must have dtype ${dtypes.join(' or ')}, got ${x.dtype}`);
}

/** Asserts `value` is a positive integer: `${op}: ${name} must be a positive integer, got ${value}`. */
export function assertPositiveInt(value: unknown, op: string, name: string): asserts value is number {
  assertArg(Number.isInteger(value) && (value as number) > 0, op,
            () => `${name} must be a positive integer, got ${value}`);
}
