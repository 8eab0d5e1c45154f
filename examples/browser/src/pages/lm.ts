/**
 * Text generation with the fortunes transformer LM (trained by examples/node/lm/train.ts, exported by
 * examples/browser/export-models.ts): KVCache + flashDecode decoding, the prompt prefilled with flashAttention.
 */
import * as tf from '@tensorflow/tfjs';
import {generate} from '@tfjs-ext/attention';
import {sampleText} from '../../../node/lm/sample';
import {decode, encode} from '../../../node/lm/tokenizer';
import {action, demo, el, Page} from '../shell';

export const lmPage: Page = {
  id: 'lm',
  title: 'Text generation',
  async mount(root) {
    const model = await tf.loadLayersModel('models/lm/model.json');  // custom layers registered by the import above
    const meta = await (await fetch('models/lm/meta.json')).json() as {context: number; steps: number};
    const prompt = el('input', {type: 'text', value: 'A '});
    const temperature = el('input', {type: 'range', min: '0', max: '1.5', step: '0.05', value: '0.8'});
    const tempLabel = el('span', {class: 'stat'}, '0.80');
    temperature.oninput = () => { tempLabel.textContent = Number(temperature.value).toFixed(2); };
    const count = el('input', {id: 'lm-count', type: 'number', min: '1', max: '2000', value: '200', style: 'width:70px'});
    const button = el('button', {id: 'generate'}, 'Generate');
    const output = el('pre', {class: 'output', id: 'lm-output'});
    const stats = el('p', {class: 'stat', id: 'lm-stats'});
    root.append(el('div', {class: 'card'},
        el('h2', {}, 'Fortunes LM'),
        el('p', {class: 'muted'}, `A ${model.countParams().toLocaleString()}-parameter character transformer ` +
           `(flashAttention blocks) trained ${meta.steps} steps on Debian's fortunes. Decoding uses one KVCache ` +
           `per block and flashDecode; text longer than the ${meta.context}-character training window restarts ` +
           `the cache from the last half window.`),
        el('div', {class: 'row'}, 'prompt', prompt, 'temperature', temperature, tempLabel, 'tokens', count, button),
        output, stats));

    /** Greedy continuation within the training window: what the tests compare with Node's output. */
    demo.actions.greedy = async (text: string, n: number) => {
      const [tokens] = await generate(model, [Array.from(encode(text))], n, {temperature: 0});
      return decode(tokens);
    };
    const run = async () => {
      const n = Math.max(1, Math.min(2000, Math.floor(Number(count.value))));
      button.disabled = true;
      output.textContent = '';
      const t0 = performance.now();
      const text = await action(`generate ${n} tokens`, () => sampleText(model, prompt.value || ' ', n, meta.context,
          {temperature: Number(temperature.value), seed: 1}));
      const seconds = (performance.now() - t0) / 1000;
      button.disabled = false;
      if (text === undefined) return;
      output.textContent = text;
      stats.textContent = `${n} tokens in ${seconds.toFixed(2)} s: ${(n / seconds).toFixed(1)} tokens/s on ${tf.getBackend()}`;
      demo.result.lm = {text, tokensPerSecond: n / seconds};
    };
    button.onclick = () => void run();
    demo.actions.generate = async () => { await run(); return demo.result.lm; };
  },
};
