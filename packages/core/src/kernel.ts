/**
 * How an op reaches its kernel on each backend.
 *
 * tfjs's `runKernel` has no fallback: a kernel missing on the active backend throws. So every tfjs-ext op
 * is defined once with {@link defineOp}: per-backend kernels are registered under one kernel name, its
 * gradient once for all backends, and a composite (built from public tf ops, differentiable by tfjs's own
 * autograd) runs wherever no kernel is registered (`webgl`, `tensorflow`, any future backend).
 * Which path ran is observable through {@link lastDispatch} and {@link dispatchCounts}.
 */
import * as tf from '@tensorflow/tfjs';
import {withScope} from './impl_registry';

export type DispatchPath = 'kernel' | 'composite';

/** A kernel function as tfjs registers it (`tf.registerKernel`). */
export type KernelFunc = tf.KernelConfig['kernelFunc'];
/** A gradient function as tfjs registers it (`tf.registerGradient`). */
export type GradFunc = tf.GradConfig['gradFunc'];

export interface OpDefinition<I extends tf.NamedTensorMap, A extends object> {
  /** Kernel name; carries the project prefix, e.g. `TfjsExtFlashAttention`. */
  kernelName: string;
  /** Backend name -> kernel. Register only where the kernel beats (or equals) the composite. */
  kernels?: Partial<Record<string, KernelFunc>>;
  /** Gradient of the kernel, shared by all backends. Omit for inference-only ops. */
  gradient?: {gradFunc: GradFunc; inputsToSave?: string[]; outputsToSave?: boolean[]};
  /**
   * Backward kernels the gradient runs (`tf.engine().runKernel(kernelName, ...)` inside `gradFunc`), registered
   * per backend like `kernels`, e.g. `{kernelName: 'TfjsExtFlashAttentionGrad', kernels: {cpu: k, webgpu: g}}`.
   * Where a backend has none, the gradient falls back to its own composite backward (`hasKernel` tells).
   */
  gradientKernels?: {kernelName: string; kernels: Partial<Record<string, KernelFunc>>};
  /** Runs on backends without a kernel; must give the same results and be differentiable by autograd. */
  composite: (inputs: I, attrs: A) => tf.Tensor | tf.Tensor[];
}

export interface Op<I extends tf.NamedTensorMap, A extends object> {
  readonly kernelName: string;
  /** Runs the registered kernel of the active backend, else the composite. */
  run(inputs: I, attrs: A): tf.Tensor | tf.Tensor[];
  /** Runs the composite whatever the backend (baselines, tests). */
  runComposite(inputs: I, attrs: A): tf.Tensor | tf.Tensor[];
  /** Whether `backend` (default: the active one) has a registered kernel for this op. */
  hasKernel(backend?: string): boolean;
}

const lastPaths = new Map<string, {path: DispatchPath; backend: string}>();
const counts = new Map<string, number>();
/**
 * Kernel names switched off (benchmarks compare kernel vs composite this way) -> number of open
 * withCompositeOnly scopes: a count, so nested and overlapping (async) scopes re-enable only when the last exits.
 */
const disabled = new Map<string, number>();

function note(kernelName: string, path: DispatchPath, backend: string): void {
  lastPaths.set(kernelName, {path, backend});
  const key = `${kernelName}:${backend}:${path}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Which path the last call of `kernelName` took, and on which backend; undefined if never called. */
export function lastDispatch(kernelName: string): {path: DispatchPath; backend: string} | undefined {
  return lastPaths.get(kernelName);
}

/** Call counts keyed `kernelName:backend:path`. */
export function dispatchCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}

export function resetDispatchCounts(): void {
  counts.clear();
  lastPaths.clear();
}

/**
 * Forces the composite path for `kernelName` (all backends) while `fn` runs: benchmarks and tests use it to
 * compare a kernel with its composite on the same backend. Re-entrant: nested or overlapping async scopes keep the
 * composite forced until the last of them exits.
 */
export function withCompositeOnly<T>(kernelName: string, fn: () => T): T {
  return withScope(() => disabled.set(kernelName, (disabled.get(kernelName) ?? 0) + 1), () => {
    const open = (disabled.get(kernelName) ?? 1) - 1;
    if (open > 0) disabled.set(kernelName, open); else disabled.delete(kernelName);
  }, fn);
}

/** True when a kernel named `kernelName` is registered for `backend` (default: the active backend). */
export function hasKernel(kernelName: string, backend: string = tf.getBackend()): boolean {
  return tf.getKernel(kernelName, backend) !== undefined;
}

/**
 * Defines an op: registers its kernels, its gradient and the gradient's backward kernels with tfjs and returns
 * a dispatcher.
 *
 * @example
 * ```ts
 * const square = defineOp<{x: tf.Tensor}, {}>({
 *   kernelName: 'TfjsExtSquare',
 *   kernels: {cpu: hostKernel(({x}) => [{shape: x.shape, values: x.values.map((v) => v * v)}])},
 *   gradient: {inputsToSave: ['x'], gradFunc: (dy, [x]) => ({x: () => tf.mul(dy as tf.Tensor, tf.mul(x, 2))})},
 *   composite: ({x}) => tf.square(x),
 * });
 * const y = square.run({x: tf.tensor([1, 2, 3])}, {}) as tf.Tensor;
 * ```
 */
function registerKernels(kernelName: string, kernels: Partial<Record<string, KernelFunc>>): void {
  for (const [backendName, kernelFunc] of Object.entries(kernels)) {
    if (kernelFunc !== undefined && tf.getKernel(kernelName, backendName) === undefined) {
      tf.registerKernel({kernelName, backendName, kernelFunc});
    }
  }
}

export function defineOp<I extends tf.NamedTensorMap, A extends object>(def: OpDefinition<I, A>): Op<I, A> {
  const {kernelName} = def;
  registerKernels(kernelName, def.kernels ?? {});
  if (def.gradientKernels !== undefined) {
    if (def.gradient === undefined) {
      throw new Error(`defineOp(${kernelName}): gradientKernels given without a gradient to run them`);
    }
    registerKernels(def.gradientKernels.kernelName, def.gradientKernels.kernels);
  }
  if (def.gradient !== undefined && tf.getGradient(kernelName) === undefined) {
    tf.registerGradient({kernelName, ...def.gradient});
  }
  const kernelActive = (backend: string) => !disabled.has(kernelName) && hasKernel(kernelName, backend);
  return {
    kernelName,
    hasKernel: (backend = tf.getBackend()) => hasKernel(kernelName, backend),
    run(inputs, attrs) {
      const backend = tf.getBackend();
      if (kernelActive(backend)) {
        note(kernelName, 'kernel', backend);
        return tf.engine().runKernel(kernelName, inputs as unknown as tf.NamedTensorMap,
                                     attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
      }
      note(kernelName, 'composite', backend);
      return tf.tidy(() => def.composite(inputs, attrs));
    },
    runComposite(inputs, attrs) {
      note(kernelName, 'composite', tf.getBackend());
      return tf.tidy(() => def.composite(inputs, attrs));
    },
  };
}
