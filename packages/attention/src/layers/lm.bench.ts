/**
 * `lm-decode`: one generated token of a small causal LM (random weights) at a long context, two ways:
 * full recomputation of the whole prefix (baseline) vs one incremental step over per-block KV caches with
 * flashDecode. Target: the cached step >= 10x faster at a 1k-token context.
 */
import * as tf from '@tensorflow/tfjs';
import type {BackendName} from '@tfjs-ext/core';
import {BenchRow, BenchSuite, runCase} from '@tfjs-ext/core/bench';
import {causalLM} from './causal_lm';
import {IncrementalDecoder} from './decode';

const VOCAB = 96;

async function decodeCase(context: number): Promise<BenchRow[]> {
  const headroom = 64;  // cached steps the harness may run (warm-up + repeats + profile)
  const model = causalLM({vocabSize: VOCAB, maxLength: context + headroom, dModel: 64, numLayers: 2, numHeads: 4,
                          numKvHeads: 2});
  const tokens = Array.from({length: context}, (_, i) => (i * 7919) % VOCAB);
  const prefix = tf.tensor2d([tokens], undefined, 'int32');
  const decoder = new IncrementalDecoder(model, {batch: 1, maxLength: context + headroom});
  tf.dispose(decoder.step(prefix));
  const next = tf.tensor2d([[5]], undefined, 'int32');
  try {
    return await runCase({
      op: 'LM next token (2 blocks, dModel 64)',
      size: `context=${context}`,
      baseline: {
        name: 'full recompute',
        run: () => tf.tidy(() => {
          const logits = model.predict(prefix) as tf.Tensor3D;  // [1, context, vocab]
          return tf.slice(logits, [0, context - 1, 0], [1, 1, VOCAB]);
        }),
      },
      candidates: [{
        name: 'KV cache + flashDecode',
        run: () => (decoder.length < context + headroom ? decoder.step(next) : tf.zeros([1, 1, VOCAB])),
      }],
    }, {warmup: 3, repeats: 9, maxMsPerVariant: 10000});
  } finally {
    decoder.dispose();
    tf.dispose([prefix, next]);
    model.dispose();
  }
}

const suite: BenchSuite = {
  name: 'lm-decode',
  backends: ['cpu', 'wasm', 'webgpu', 'tensorflow'] as BackendName[],
  async run(_backend, {quick, emulated}) {
    const contexts = quick || emulated ? [128] : [256, 1024];
    const rows: BenchRow[] = [];
    for (const c of contexts) rows.push(...await decodeCase(c));
    return rows;
  },
  notes(rows) {
    return rows.filter((r) => !r.baseline && r.speedup !== null).map((r) =>
        `${r.backend} ${r.size}: cached step ${r.speedup!.toFixed(1)}x faster than full recompute` +
        (r.size === 'context=1024' ? (r.speedup! >= 10 ? ' (target >= 10x met)' : ' (target >= 10x NOT met)') : ''));
  },
};
export default suite;
