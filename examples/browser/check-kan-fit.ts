/**
 * Runs the KAN page's fit in Node (cpu and wasm) and prints the test RMSE, to state the page's target honestly.
 *   node --conditions=tfjs-ext-source --import tsx examples/browser/check-kan-fit.ts
 */
import '@tfjs-ext/core/node';  // Node loaders of wasm, webgpu (Dawn) and tensorflow; file:// routers
import * as tf from '@tensorflow/tfjs';
import {initBackend} from '@tfjs-ext/core';
import {fitKAN, kanDataset, KAN_RMSE_TARGET, rmse} from './src/pages/kan_fit';

async function main() {
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend(backend);
    const train = kanDataset(1000, 1), test = kanDataset(1000, 2);
    const t0 = performance.now();
    const model = await fitKAN(train, () => {});
    const e = await rmse(model, test.x, test.y);
    console.log(`${backend}: test RMSE ${e.toExponential(3)} (page target ${KAN_RMSE_TARGET}) in ` +
                `${((performance.now() - t0) / 1000).toFixed(1)} s`);
    tf.dispose([train.x, train.y, test.x, test.y]);
    model.dispose();
  }
}
main().catch((e) => { console.error(e); process.exitCode = 1; });
