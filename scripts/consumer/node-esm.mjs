// A user's plain Node ESM script: the published entries only (no source condition, no tsx).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tfjs-ext/core/node';
import {initBackend} from '@tfjs-ext/core';
import * as attention from '@tfjs-ext/attention';
import * as kanPkg from '@tfjs-ext/kan';
import {fileRoundTrip, runChecks} from './checks.mjs';

for (const backend of ['cpu', 'wasm']) {
  const status = await initBackend(backend);
  if (!status.available) throw new Error(`${backend}: ${status.reason}`);
  const {model, lm} = await runChecks(tf, attention, kanPkg, backend, (m) => console.log(`esm ${m}`));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-esm-'));
  await fileRoundTrip(tf, model, tf.ones([3, 2]), path.join(dir, 'kan'));
  await fileRoundTrip(tf, lm, tf.tensor2d([[1, 2, 3]], undefined, 'int32'), path.join(dir, 'lm'));
  console.log(`esm ${backend}: file:// save/load of a KAN and a causalLM ok`);
}
