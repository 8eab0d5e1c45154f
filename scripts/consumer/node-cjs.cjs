// A user's plain Node CommonJS script: the published entries only.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs');
require('@tfjs-ext/core/node');
const {initBackend} = require('@tfjs-ext/core');
const attention = require('@tfjs-ext/attention');
const kanPkg = require('@tfjs-ext/kan');

(async () => {
  const {fileRoundTrip, runChecks} = await import('./checks.mjs');
  for (const backend of ['cpu', 'wasm']) {
    const status = await initBackend(backend);
    if (!status.available) throw new Error(`${backend}: ${status.reason}`);
    const {model, lm} = await runChecks(tf, attention, kanPkg, backend, (m) => console.log(`cjs ${m}`));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-cjs-'));
    await fileRoundTrip(tf, model, tf.ones([3, 2]), path.join(dir, 'kan'));
    await fileRoundTrip(tf, lm, tf.tensor2d([[1, 2, 3]], undefined, 'int32'), path.join(dir, 'lm'));
    console.log(`cjs ${backend}: file:// save/load of a KAN and a causalLM ok`);
  }
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
