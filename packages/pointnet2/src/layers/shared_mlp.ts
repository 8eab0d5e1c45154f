/**
 * The shared MLP of PointNet++ layers: per point (or per group slot), 1x1 dense (no bias) + batch norm + ReLU,
 * as weights owned by the layer that uses it (so they save and load with stable names inside that layer).
 */
import * as tf from '@tensorflow/tfjs';
import {defineOp, KernelFunc} from '@tfjs-ext/core';
import {batchNormRelu} from './fused';

type AddWeight = (name: string, shape: number[], initializer: ReturnType<typeof tf.initializers.zeros>,
                  trainable: boolean) => tf.LayerVariable;

interface MlpWeights {
  kernel: tf.LayerVariable;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

export const BN_EPSILON = 1e-3;

/**
 * `x [R, Cin] @ w [Cin, Cout]` on cpu and wasm as a kernel that delegates to the backend's own BatchMatMul, with
 * a gradient that multiplies by explicit transposes: tfjs's matMul gradient uses the transposeA/B forms, 5-10x
 * slower on wasm (TFJS-TRAPS.md). Other backends run tf.matMul.
 */
const delegateMatMul: KernelFunc = ({inputs, backend}) => {
  const kernel = tf.getKernel('BatchMatMul', tf.getBackend());
  if (kernel === undefined) throw new Error(`dense: no BatchMatMul kernel on ${tf.getBackend()}`);
  const x = inputs.x as tf.TensorInfo, w = inputs.w as tf.TensorInfo;
  return kernel.kernelFunc({inputs: {a: x, b: w}, backend, attrs: {transposeA: false, transposeB: false}});
};

const denseOp = defineOp<{x: tf.Tensor2D; w: tf.Tensor2D}, object>({
  kernelName: 'TfjsExtPointNet2Dense',
  kernels: {cpu: delegateMatMul, wasm: delegateMatMul},
  gradient: {
    inputsToSave: ['x', 'w'],
    gradFunc: (dy, [x, w]) => ({
      x: () => tf.matMul(dy as tf.Tensor2D, tf.transpose(w as tf.Tensor2D)),
      w: () => tf.matMul(tf.transpose(x as tf.Tensor2D), dy as tf.Tensor2D),
    }),
  },
  composite: ({x, w}) => tf.matMul(x, w),
});

function dense(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return denseOp.run({x, w}, {}) as tf.Tensor2D;
}

/** The weights and function of one shared MLP. */
export class SharedMLP {
  private readonly weights: MlpWeights[] = [];

  /** Creates the weights `${prefix}${i}_kernel` etc. for each layer of `widths`, starting from `inChannels`. */
  constructor(addWeight: AddWeight, prefix: string, inChannels: number, widths: readonly number[]) {
    let cin = inChannels;
    widths.forEach((cout, i) => {
      this.weights.push({
        kernel: addWeight(`${prefix}${i}_kernel`, [cin, cout], tf.initializers.heNormal({}), true),
        gamma: addWeight(`${prefix}${i}_gamma`, [cout], tf.initializers.ones(), true),
        beta: addWeight(`${prefix}${i}_beta`, [cout], tf.initializers.zeros(), true),
        movingMean: addWeight(`${prefix}${i}_moving_mean`, [cout], tf.initializers.zeros(), false),
        movingVariance: addWeight(`${prefix}${i}_moving_variance`, [cout], tf.initializers.ones(), false),
      });
      cin = cout;
    });
  }

  /**
   * `parts [..., C_i]` (concatenated along channels, sum C_i = Cin) `-> [..., Cout]`. The first layer multiplies
   * each part by its rows of the kernel instead of concatenating (a concat's gradient is a split, slow on wasm).
   * In training, batch norm uses the batch statistics (over every axis but the channels) and moves the running
   * ones by `momentum`; in inference it uses the running statistics.
   */
  apply(parts: tf.Tensor | tf.Tensor[], training: boolean, momentum: number): tf.Tensor {
    const list = Array.isArray(parts) ? parts : [parts];
    const outerShape = list[0].shape.slice(0, -1);
    let h: tf.Tensor | null = null;
    let offset = 0;
    for (const part of list) {
      const c = part.shape[part.rank - 1] as number;
      const rows = tf.slice(this.weights[0].kernel.read(), [offset, 0], [c, -1]);  // [C_i, Cout]
      const term = dense(tf.reshape(part, [-1, c]) as tf.Tensor2D, rows as tf.Tensor2D);
      h = h === null ? term : tf.add(h, term);
      offset += c;
    }
    let out = h as tf.Tensor;  // [rows, Cout]
    this.weights.forEach((w, i) => {
      if (i > 0) out = dense(out as tf.Tensor2D, w.kernel.read() as tf.Tensor2D);  // [rows, Cout]
      if (training) {
        // fused kernels on cpu/wasm (batch statistics + ReLU, and its backward), tf ops elsewhere
        const [y, mean, variance] = batchNormRelu(out as tf.Tensor2D, w.gamma.read() as tf.Tensor1D,
                                                  w.beta.read() as tf.Tensor1D, BN_EPSILON);
        tf.tidy(() => {
          w.movingMean.write(tf.add(tf.mul(w.movingMean.read(), momentum), tf.mul(mean, 1 - momentum)));
          w.movingVariance.write(tf.add(tf.mul(w.movingVariance.read(), momentum), tf.mul(variance, 1 - momentum)));
        });
        out = y;
      } else {
        out = tf.relu(tf.batchNorm(out, w.movingMean.read(), w.movingVariance.read(), w.beta.read(), w.gamma.read(),
                                 BN_EPSILON));
      }
    });
    return tf.reshape(out, [...outerShape, out.shape[1] as number]);
  }

  get outChannels(): number {
    return this.weights[this.weights.length - 1].kernel.shape[1] as number;
  }
}
