/**
 * Adam as torch.optim.Adam (the optimiser SB3 uses): `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
 * `p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`. On cpu and wasm the step runs in plain JS over
 * typed arrays (one read of each gradient and parameter, one upload of the new parameter: about 4 tfjs calls
 * per variable instead of the ~15 elementwise kernels of `tf.train.adam`, whose per-kernel overhead dominates
 * at SAC's sizes); elsewhere (webgpu, webgl) the same step as tf ops, with the state on the device.
 */
import * as tf from '@tensorflow/tfjs';

const HOST_BACKENDS = ['cpu', 'wasm', 'tensorflow'];

/** Whether the active backend reads tensors synchronously and cheaply (host memory). */
export const onHost = () => HOST_BACKENDS.includes(tf.getBackend());

/**
 * The values of a float32 tensor on a host backend, without a copy where the backend allows it (wasm: a view of
 * its heap, valid until the next tensor allocation may grow that heap; use it at once). Read-only.
 */
export function hostValues(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as unknown as {typedArrayFromHeap?: (t: tf.TensorInfo) => Float32Array};
  if (tf.getBackend() === 'wasm' && backend.typedArrayFromHeap !== undefined) return backend.typedArrayFromHeap(t);
  return t.dataSync() as Float32Array;
}

/**
 * Host copies of variables' values, read back only when a variable was assigned elsewhere since (its data id
 * changed: `setWeights`, `load`, a user's `assign`). {@link HostMirror.write} assigns a new value and keeps it.
 */
export class HostMirror {
  private readonly values = new Map<tf.Variable, {dataId: object; values: Float32Array}>();

  /** The variable's current values (read-only: the array may back the variable's data on the cpu backend). */
  read(variable: tf.Variable): Float32Array {
    const e = this.values.get(variable);
    if (e !== undefined && e.dataId === variable.dataId) return e.values;
    const values = Float32Array.from(variable.dataSync() as Float32Array);
    this.values.set(variable, {dataId: variable.dataId, values});
    return values;
  }

  /** Assigns `values` (a fresh array, never changed afterwards) to `variable`. */
  write(variable: tf.Variable, values: Float32Array): void {
    tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
    this.values.set(variable, {dataId: variable.dataId, values});
  }

  clear(): void {
    this.values.clear();
  }
}

export class Adam {
  /** Steps taken. */
  t = 0;
  private m: Array<Float32Array | tf.Variable> = [];
  private v: Array<Float32Array | tf.Variable> = [];
  /** Host copies of the parameters (host mode): no read-back of values this optimiser wrote itself. */
  private readonly params = new HostMirror();

  constructor(readonly learningRate: number, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly epsilon = 1e-8) {}

  /** One step on `vars` with `grads` (same order and shapes); returns the new parameter values on host backends. */
  apply(vars: tf.Variable[], grads: tf.Tensor[]): Array<Float32Array> | null {
    this.t++;
    const {beta1: b1, beta2: b2, epsilon: eps, learningRate: lr} = this;
    const c1 = 1 - b1 ** this.t, c2 = 1 - b2 ** this.t;
    if (this.m.length === 0) {
      // flat state ([size]) in both modes, so a checkpoint moves between backends
      this.m = vars.map((v) => onHost() ? new Float32Array(v.size) : tf.variable(tf.zeros([v.size]), false));
      this.v = vars.map((v) => onHost() ? new Float32Array(v.size) : tf.variable(tf.zeros([v.size]), false));
    }
    if (this.m[0] instanceof Float32Array) {
      // p -= lr (m / c1) / (sqrt(v / c2) + eps); the parameters come from the mirror, the gradient from the heap
      return vars.map((variable, i) => {
        const p = this.params.read(variable), out = new Float32Array(p.length);
        const g = hostValues(grads[i]);  // a heap view on wasm: used before the next allocation
        const m = this.m[i] as Float32Array, v = this.v[i] as Float32Array;
        for (let k = 0; k < p.length; k++) {
          const gk = g[k];
          const mk = m[k] = b1 * m[k] + (1 - b1) * gk;
          const vk = v[k] = b2 * v[k] + (1 - b2) * gk * gk;
          out[k] = p[k] - lr * (mk / c1) / (Math.sqrt(vk / c2) + eps);
        }
        this.params.write(variable, out);
        return out;
      });
    }
    tf.tidy(() => vars.forEach((variable, i) => {
      const m = this.m[i] as tf.Variable, v = this.v[i] as tf.Variable, g = tf.reshape(grads[i], [-1]);
      m.assign(tf.add(tf.mul(b1, m), tf.mul(1 - b1, g)));
      v.assign(tf.add(tf.mul(b2, v), tf.mul(1 - b2, tf.square(g))));
      const step = tf.div(tf.mul(lr / c1, m), tf.add(tf.sqrt(tf.div(v, c2)), eps));
      variable.assign(tf.sub(variable, tf.reshape(step, variable.shape)));
    }));
    return null;
  }

  /** The state as named tensors (`m/i`, `v/i`; new tensors the caller disposes) for checkpoints. */
  getState(): {t: number; tensors: Array<{name: string; tensor: tf.Tensor}>} {
    const tensors: Array<{name: string; tensor: tf.Tensor}> = [];
    for (const [key, list] of [['m', this.m], ['v', this.v]] as const) {
      list.forEach((s, i) => tensors.push({name: `${key}/${i}`, tensor: s instanceof Float32Array ? tf.tensor1d(s) : tf.clone(s)}));
    }
    return {t: this.t, tensors};
  }

  /** Restores {@link getState}'s values (`named` by the same names). */
  async setState(t: number, named: Record<string, tf.Tensor>): Promise<void> {
    this.dispose();
    const count = Object.keys(named).filter((k) => k.startsWith('m/')).length;
    const restore = async (key: string) => Promise.all(Array.from({length: count}, async (_, i) => {
      const x = named[`${key}/${i}`];
      return onHost() ? Float32Array.from(await x.data()) : tf.variable(tf.reshape(x, [-1]), false);
    }));
    this.m = await restore('m');
    this.v = await restore('v');
    this.t = t;
  }

  dispose(): void {
    for (const s of [...this.m, ...this.v]) if (!(s instanceof Float32Array)) s.dispose();
    this.m = [];
    this.v = [];
    this.params.clear();
  }
}
