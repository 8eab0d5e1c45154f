/**
 * Regenerates the models the demo app ships (public/models/) from the Node examples' checkpoints, and the
 * outputs the Chromium tests compare against (computed here in Node, on the cpu backend):
 *
 *   node --conditions=tfjs-ext-source --import tsx examples/node/lm/train.ts          # writes examples/node/lm/checkpoint
 *   node --conditions=tfjs-ext-source --import tsx examples/browser/export-models.ts [--lm=DIR]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {generate} from '@tfjs-ext/attention';
import {initBackend} from '@tfjs-ext/core';
import {parseFlags, readModel, runExample, writeModel} from '../node/common';
import {decode, encode} from '../node/lm/tokenizer';

const models = path.join(__dirname, 'public', 'models');
/** Greedy continuations the page must reproduce; prompts chosen where the top-2 logit margin stays clear. */
const PROMPTS = ['A ', 'The ', 'You will ', 'Q: '];
const GREEDY_TOKENS = 40;

runExample(async () => {
  const flags = parseFlags('export-models.ts: copies the example checkpoints into the demo app', {
    lm: {default: path.join(__dirname, '../node/lm/checkpoint'), help: 'LM checkpoint folder (train.ts --out)'},
  });
  await initBackend('cpu');
  const {model, metadata} = await readModel(flags.lm);
  const out = path.join(models, 'lm');
  await writeModel(model, out);
  fs.writeFileSync(path.join(out, 'meta.json'), JSON.stringify({context: metadata.context, steps: metadata.steps}));
  const expected = [];
  for (const prompt of PROMPTS) {
    let minMargin = Infinity;
    const [tokens] = await generate(model, [Array.from(encode(prompt))], GREEDY_TOKENS, {
      onLogits: (logits) => {
        const sorted = Array.from(logits).sort((a, b) => b - a);
        minMargin = Math.min(minMargin, sorted[0] - sorted[1]);
      },
    });
    expected.push({prompt, tokens: GREEDY_TOKENS, text: decode(tokens), minMargin});
    console.log(`${JSON.stringify(prompt)} -> ${JSON.stringify(decode(tokens))} (smallest top-2 margin ${minMargin.toFixed(4)})`);
  }
  fs.writeFileSync(path.join(out, 'expected.json'), JSON.stringify(expected, null, 1));
  const bytes = fs.readdirSync(out).reduce((a, f) => a + fs.statSync(path.join(out, f)).size, 0);
  console.log(`wrote ${path.relative(process.cwd(), out)} (${(bytes / 1e6).toFixed(2)} MB)`);
  model.dispose();
  tf.disposeVariables();
});
