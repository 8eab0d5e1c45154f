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

/**
 * Asserts every own key of the options/config object `obj` is one of `allowedKeys` (a typo such as
 * `{casual: true}` must not silently run something else): `${op}: unknown option 'casual'; accepted: causal,
 * kvLengths, scale, window`. `undefined` and `null` pass (no options given); a non-object is rejected.
 *
 * @example
 * ```ts
 * assertKnownKeys('flashAttention', options, ['scale', 'causal', 'window', 'kvLengths']);
 * ```
 */
export function assertKnownKeys(op: string, obj: unknown, allowedKeys: readonly string[], what = 'option'): void {
  if (obj === undefined || obj === null) return;
  assertArg(typeof obj === 'object' && !Array.isArray(obj), op, () =>
      `${what}s must be an object, got ${Array.isArray(obj) ? 'an array' : typeof obj}`);
  for (const key of Object.keys(obj as object)) {
    assertArg(allowedKeys.includes(key), op, () =>
        `unknown ${what} '${key}'; accepted: ${[...allowedKeys].sort().join(', ')}`);
  }
}

/**
 * Keys any Keras layer config accepts (`tf.layers.Layer`'s LayerArgs), plus `customObjects`, which
 * `tf.loadLayersModel` adds to every config it deserializes; for {@link assertKnownKeys} on a custom layer's config.
 */
export const KERAS_LAYER_KEYS: readonly string[] = ['inputShape', 'batchInputShape', 'batchSize', 'dtype', 'name',
  'trainable', 'weights', 'inputDType', 'customObjects'];
