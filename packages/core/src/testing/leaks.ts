/**
 * Leak checks: tensors (`tf.memory().numTensors`) and backend data ids must be equal before and after a call,
 * with `IS_TEST` on so the engine itself throws on a kernel that leaks an intermediate data id.
 */
import * as tf from '@tensorflow/tfjs';

function numDataIds(): number {
  return tf.engine().backend.numDataIds();
}

/**
 * Runs `fn`, disposes whatever tensors it returns, and throws if tensors or backend data ids leaked.
 *
 * @example
 * ```ts
 * await expectNoLeaks(() => flashAttention(q, k, v));
 * ```
 */
export async function expectNoLeaks(fn: () => tf.TensorContainer | Promise<tf.TensorContainer>,
                                    name = 'call'): Promise<void> {
  const wasTest = tf.env().getBool('IS_TEST');
  tf.env().set('IS_TEST', true);
  try {
    const tensorsBefore = tf.memory().numTensors;
    const idsBefore = numDataIds();
    const out = await fn();
    tf.dispose(out);
    const tensorsAfter = tf.memory().numTensors;
    const idsAfter = numDataIds();
    if (tensorsAfter !== tensorsBefore) {
      throw new Error(`${name} leaked ${tensorsAfter - tensorsBefore} tensor(s) on ${tf.getBackend()}`);
    }
    if (idsAfter !== idsBefore) {
      throw new Error(`${name} leaked ${idsAfter - idsBefore} backend data id(s) on ${tf.getBackend()}`);
    }
  } finally {
    tf.env().set('IS_TEST', wasTest);
  }
}
