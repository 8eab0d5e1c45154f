/** A test helper every package's file-format tests share: save through `file://`, load back, compare outputs. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {fileLoadHandler, fileSaveHandler, registerFileRouters} from './file_io';

export interface RoundTripResult {
  /** Largest |original - reloaded| over the outputs for `input`. */
  maxDiff: number;
  /** The reloaded model (caller disposes). */
  reloaded: tf.LayersModel;
  /** Files written (names in the folder). */
  files: string[];
}

/**
 * Saves `model` through `file://` URLs and through this package's handlers, reloads each the other way, and
 * compares the outputs on `input` (custom layers must be registered: import their package).
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
    // Both directions, whichever handler serves 'file://' here (ours, or tfjs-node's once it is loaded): a URL
    // save read back by our loader, and our save read back through a URL.
    await model.save(`file://${path.join(dir, 'a')}`);
    const viaOurs = await tf.loadLayersModel(fileLoadHandler(path.join(dir, 'a', 'model.json')));
    await model.save(fileSaveHandler(path.join(dir, 'b')));
    const reloaded = await tf.loadLayersModel(`file://${path.join(dir, 'b', 'model.json')}`);
    const diff = tf.tidy(() => {
      const a = [model.predict(input)].flat() as tf.Tensor[];
      const others = [viaOurs, reloaded].map((m) => [m.predict(input)].flat() as tf.Tensor[]);
      return tf.max(tf.stack(others.flatMap((b) => a.map((t, i) => tf.max(tf.abs(tf.sub(t, b[i]))))))) as tf.Scalar;
    });
    const maxDiff = (await diff.data())[0];
    diff.dispose();
    viaOurs.dispose();
    return {maxDiff, reloaded, files: fs.readdirSync(path.join(dir, 'b')).sort()};
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}
