/**
 * `npm start`: the main job on defaults. Reports which backends are available here (with the WebGPU adapter),
 * then a quick benchmark on each available backend: tf.matMul (a harness check on a core op) and fused
 * flashAttention against the naive tfjs attention a user would write.
 */
import * as tf from '@tensorflow/tfjs';
import {flashAttention} from '@tfjs-ext/attention';
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

    // Attention, B=1, H=4, D=64, causal: the kernel of this backend vs matMul(softmax(QK^T/sqrt(D) + mask), V).
    const [heads, d, seq] = [4, 64, s.emulated ? 128 : 512];
    const [q, k, v] = [1, 2, 3].map(() => tf.randomNormal([1, seq, heads, d]) as tf.Tensor4D);
    const mask = tf.linalg.bandPart(tf.ones([seq, seq]), -1, 0);
    const bias = tf.mul(tf.sub(1, mask), -1e9);
    const naive = () => tf.tidy(() => {
      const [qh, kh, vh] = [q, k, v].map((x) => tf.transpose(x, [0, 2, 1, 3]));  // [B, H, N, D]
      const scores = tf.add(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(d)), bias);
      return tf.transpose(tf.matMul(tf.softmax(scores), vh), [0, 2, 1, 3]);
    });
    rows.push(...await runCase({
      op: 'attention causal (B=1, H=4, D=64)', size: `N=${seq}`, flops: 2 * heads * seq * seq * d,
      baseline: {name: 'naive tfjs matMul+softmax', run: naive},
      candidates: [{name: 'flashAttention', run: () => flashAttention(q, k, v, {causal: true})}],
    }, {warmup: 1, repeats: 5}));
    tf.dispose([q, k, v, mask, bias]);
  }
  console.log('\nQuick benchmark (`npm run bench` runs the full kernel suites; webgpu here is emulation):\n');
  console.log(markdownTable(rows));
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
