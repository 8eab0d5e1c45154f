/**
 * `mamba-lm-decode`: one generated token at a long context, for the two character LMs of the examples at their
 * default sizes (random weights: this measures speed, not text quality):
 * - baseline: the transformer (`causalLM`, 2 blocks, dModel 64, 186k parameters at maxLength 1280), one cached
 *   step over per-block KV caches with `flashDecode` — its cost grows with the context;
 * - candidate: the Mamba-2 LM (`mambaLM`, 5 blocks, dModel 64, dState 64, 185k parameters), one recurrent
 *   `Mamba2.step` per block — its cost does not depend on the context.
 * Both prefill the context once (outside the timed region). The transformer's learned positions are raised to
 * the context (untrained positions are fine for a speed measurement).
 */
import * as tf from '@tensorflow/tfjs';
import type {BackendName} from '@tfjs-ext/core';
import {BenchRow, BenchSuite, runCase} from '@tfjs-ext/core/bench';
import {causalLM, IncrementalDecoder} from '@tfjs-ext/attention';
import {MambaDecoder} from './decode';
import {mambaLM} from './mamba_lm';

const VOCAB = 96;
/** Cached steps the harness may run on the transformer (warm-up + repeats + profile). */
const HEADROOM = 64;

async function decodeCase(context: number): Promise<BenchRow[]> {
  const transformer = causalLM({vocabSize: VOCAB, maxLength: context + HEADROOM, dModel: 64, numLayers: 2, numHeads: 4,
                                numKvHeads: 2});
  const mamba = mambaLM({vocabSize: VOCAB, dModel: 64, numLayers: 5, dState: 64, headDim: 32, seed: 1});
  const tokens = Array.from({length: context}, (_, i) => (i * 7919) % VOCAB);
  const prefix = tf.tensor2d([tokens], undefined, 'int32');
  const kvDecoder = new IncrementalDecoder(transformer, {batch: 1, maxLength: context + HEADROOM});
  const ssmDecoder = new MambaDecoder(mamba, {batch: 1});
  tf.dispose([kvDecoder.step(prefix), ssmDecoder.step(prefix)]);
  const next = tf.tensor2d([[5]], undefined, 'int32');
  try {
    return await runCase({
      op: 'LM next token (~185k parameters)',
      size: `context=${context}`,
      baseline: {
        name: 'transformer: KV cache + flashDecode',
        run: () => (kvDecoder.length < context + HEADROOM ? kvDecoder.step(next) : tf.zeros([1, 1, VOCAB])),
      },
      candidates: [{name: 'Mamba-2: recurrent step', run: () => ssmDecoder.step(next)}],
    }, {warmup: 3, repeats: 15, maxMsPerVariant: 10000});
  } finally {
    kvDecoder.dispose();
    ssmDecoder.dispose();
    tf.dispose([prefix, next]);
    transformer.dispose();
    mamba.dispose();
  }
}

const suite: BenchSuite = {
  name: 'mamba-lm-decode',
  backends: ['cpu', 'wasm', 'webgpu', 'tensorflow'] as BackendName[],
  async run(_backend, {quick, emulated}) {
    const contexts = quick || emulated ? [256] : [1024, 4096, 16384];
    const rows: BenchRow[] = [];
    for (const c of contexts) rows.push(...await decodeCase(c));
    return rows;
  },
  notes(rows) {
    const lines = rows.filter((r) => r.medianMs !== null).map((r) =>
        `${r.backend} ${r.size} ${r.variant}: ${(1000 / r.medianMs!).toFixed(1)} tokens/s`);
    for (const backend of new Set(rows.map((r) => r.backend))) {
      const mine = rows.filter((r) => r.backend === backend && r.medianMs !== null);
      for (const variant of new Set(mine.map((r) => r.variant))) {
        const ms = mine.filter((r) => r.variant === variant).map((r) => r.medianMs!);
        if (ms.length > 1) {
          lines.push(`${backend} ${variant}: per-token time from the shortest to the longest context x` +
                     `${(ms[ms.length - 1] / ms[0]).toFixed(2)}`);
        }
      }
    }
    return lines;
  },
};
export default suite;
