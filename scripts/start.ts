/**
 * `npm start`: the main job on defaults. Reports which backends are available here (with the WebGPU adapter),
 * then runs a quick benchmark of the harness on a core op (matMul) on each available backend.
 */
import * as tf from '@tensorflow/tfjs';
import {backendReport} from '@tfjs-ext/core';
import {BenchRow, machineDescription, markdownTable, runCase} from '@tfjs-ext/core/bench';

async function main() {
  console.log(`tfjs-ext on ${await machineDescription()}, tfjs ${tf.version.tfjs}\n`);
  const report = await backendReport();
  console.log('Backends:');
  for (const s of report) {
    console.log(s.available ?
                    `  ${s.name.padEnd(10)} available  ${s.device}${s.emulated ? ' (software emulation)' : ''}` :
                    `  ${s.name.padEnd(10)} skipped    ${s.reason}`);
  }
  const rows: BenchRow[] = [];
  for (const s of report.filter((r) => r.available)) {
    await tf.setBackend(s.name);
    const n = s.emulated ? 128 : 256;
    const a = tf.randomNormal([n, n]);
    const b = tf.randomNormal([n, n]);
    rows.push(...await runCase({
      op: 'matMul', size: `${n}x${n}`, flops: 2 * n ** 3,
      baseline: {name: 'tf.matMul', run: () => tf.matMul(a, b)},
      candidates: [{name: 'tf.matMul (transposeB)', run: () => tf.matMul(a, b, false, true)}],
    }, {warmup: 2, repeats: 5}));
    tf.dispose([a, b]);
  }
  console.log('\nQuick benchmark (harness check on a core op; `npm run bench` runs the kernel suites):\n');
  console.log(markdownTable(rows));
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
