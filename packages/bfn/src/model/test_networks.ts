/**
 * Tiny LayersModels for tests: a layer that applies a fixed tensor function to [flow inputs, t] (constant
 * predictors), counting its calls.
 */
import * as tf from '@tensorflow/tfjs';

export class FnLayer extends tf.layers.Layer {
  static className = 'TfjsExtBfnTestFnLayer';
  calls = 0;
  constructor(private readonly fn: (inputs: tf.Tensor[]) => tf.Tensor,
              private readonly outShape: (shapes: tf.Shape[]) => tf.Shape) {
    super({});
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    this.calls++;
    return this.fn(inputs as tf.Tensor[]);
  }
  override computeOutputShape(shapes: tf.Shape | tf.Shape[]): tf.Shape {
    return this.outShape(shapes as tf.Shape[]);
  }
}

/** A LayersModel [flow inputs `[b, ...inputShape]`, t `[b, 1]`] -> fn(...). */
export function fnNetwork(inputShape: number[], fn: (inputs: tf.Tensor[]) => tf.Tensor,
                          outShape: (shapes: tf.Shape[]) => tf.Shape): {model: tf.LayersModel; layer: FnLayer} {
  const p = tf.input({shape: inputShape});
  const t = tf.input({shape: [1]});
  const layer = new FnLayer(fn, outShape);
  const out = layer.apply([p, t]) as tf.SymbolicTensor;
  return {model: tf.model({inputs: [p, t], outputs: out}), layer};
}
