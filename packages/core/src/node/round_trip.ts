/** A test helper every package's file-format tests share: save through `file://`, load back, compare outputs. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {registerFileRouters} from './file_io';

export interface RoundTripResult {
  /** Largest |original - reloaded| over the outputs for `input`. */
  maxDiff: number;
  /** The reloaded model (caller disposes). */
  reloaded: tf.LayersModel;
  /** Files written (names in the folder). */
  files: string[];
}

/**
 * Saves `model` with `model.save('file://<tmp>')`, reloads it with `tf.loadLayersModel('file://<tmp>/model.json')`
 * and compares the two models' outputs on `input` (custom layers must be registered: import their package).
 *
 * @example
 * ```ts
 * const {maxDiff, reloaded} = await fileRoundTrip(model, tf.ones([2, 8]));
 * expect(maxDiff).to.equal(0);
 * reloaded.dispose();
 * ```
 */
export async function fileRoundTrip(model: tf.LayersModel, input: tf.Tensor | tf.Tensor[]): Promise<RoundTripResult> {
  registerFileRouters();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-ext-roundtrip-'));
  try {
    await model.save(`file://${dir}`);
    const reloaded = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
    const diff = tf.tidy(() => {
      const a = [model.predict(input)].flat() as tf.Tensor[];
      const b = [reloaded.predict(input)].flat() as tf.Tensor[];
      return tf.max(tf.stack(a.map((t, i) => tf.max(tf.abs(tf.sub(t, b[i])))))) as tf.Scalar;
    });
    const maxDiff = (await diff.data())[0];
    diff.dispose();
    return {maxDiff, reloaded, files: fs.readdirSync(dir).sort()};
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}
