/**
 * Mamba-2 beside the transformer: the fortunes Mamba-2 LM (examples/node/mamba/train.ts, exported by
 * examples/browser/export-models.ts) generates over its recurrent state (`MambaDecoder`: the prompt through the
 * chunked SSD scan once, then one `Mamba2.step` per block and token), and a race decodes the same number of
 * tokens with both models, charting tokens/s against context length live: the transformer's KVCache +
 * flashDecode step reads the whole cache, the Mamba step does not depend on the context.
 */
import * as tf from '@tensorflow/tfjs';
import {causalLMParts, generate as generateTransformer} from '@tfjs-ext/attention';
import {generate as generateMamba} from '@tfjs-ext/mamba';
import {decode, encode} from '../../../node/lm/tokenizer';
import {lineChart} from '../plot';
import {action, demo, el, Page} from '../shell';

/** Tokens/s over the last `window` decoding steps, at each context length, from the step timestamps. */
function rates(prompt: number, stamps: number[], window = 8): {contexts: number[]; perSecond: number[]} {
  const contexts: number[] = [], perSecond: number[] = [];
  for (let s = window; s < stamps.length; s++) {
    contexts.push(prompt + s);
    perSecond.push((1000 * window) / Math.max(stamps[s] - stamps[s - window], 1e-3));
  }
  return {contexts, perSecond};
}

export const mambaPage: Page = {
  id: 'mamba',
  title: 'Mamba-2',
  async mount(root) {
    const mamba = await tf.loadLayersModel('models/mamba/model.json');  // Mamba2 etc. registered by the import above
    const transformer = await tf.loadLayersModel('models/lm/model.json');
    const meta = await (await fetch('models/mamba/meta.json')).json() as
        {context: number; steps: number; source: string; config: Record<string, number>};
    // The transformer's learned positions end at maxLength: the race stays inside them.
    const maxRace = (causalLMParts(transformer).positionEmbedding.getConfig().maxLength as number) - 8;
    const prompt = el('input', {type: 'text', value: 'A '});
    const temperature = el('input', {type: 'range', min: '0', max: '1.5', step: '0.05', value: '0.8'});
    const tempLabel = el('span', {class: 'stat'}, '0.80');
    temperature.oninput = () => { tempLabel.textContent = Number(temperature.value).toFixed(2); };
    const count = el('input', {id: 'mamba-count', type: 'number', min: '1', max: '2000', value: '200', style: 'width:70px'});
    const button = el('button', {id: 'mamba-generate'}, 'Generate');
    const output = el('pre', {class: 'output', id: 'mamba-output'});
    const stats = el('p', {class: 'stat', id: 'mamba-stats'});
    const raceCount = el('input', {id: 'race-count', type: 'number', min: '16', max: String(maxRace), value: '512',
                                   style: 'width:70px'});
    const raceButton = el('button', {id: 'race'}, 'Race');
    const raceStats = el('p', {class: 'stat', id: 'race-stats'});
    const chartBox = el('div');
    root.append(
        el('div', {class: 'card'},
           el('h2', {}, 'Mamba-2 LM'),
           el('p', {class: 'muted'}, `A ${mamba.countParams().toLocaleString()}-parameter character Mamba-2 LM ` +
              `(${meta.config.numLayers} blocks, dModel ${meta.config.dModel}, dState ${meta.config.dState}) ` +
              `trained ${meta.steps} steps on Debian's fortunes (${meta.source}). Generation runs the prompt ` +
              `through the chunked SSD scan once, then one recurrent step per token: no window, no cache that grows.`),
           el('div', {class: 'row'}, 'prompt', prompt, 'temperature', temperature, tempLabel, 'tokens', count, button),
           output, stats),
        el('div', {class: 'card'},
           el('h2', {}, 'Tokens/s against context length'),
           el('p', {class: 'muted'}, `Both models decode the same number of tokens one at a time after the prompt ` +
              `(greedy, batch 1): the transformer (${transformer.countParams().toLocaleString()} parameters) with ` +
              `its KVCache and flashDecode, whose work grows with the context; Mamba-2 with its fixed-size state. ` +
              `Rates are over the last 8 tokens, drawn as they come.`),
           el('div', {class: 'row'}, 'tokens', raceCount, raceButton), chartBox, raceStats));
    const chart = lineChart(chartBox, 'decoding speed', ['Mamba-2 (recurrent step)', 'transformer (KVCache)'],
                            {xLabel: 'context length (tokens)'});

    /** Greedy continuation over the recurrent state: what the tests compare with Node's output. */
    demo.actions.greedy = async (text: string, n: number) => {
      const [tokens] = await generateMamba(mamba, [Array.from(encode(text))], n, {temperature: 0});
      output.textContent = `${text}${decode(tokens)}`;  // greedy (temperature 0)
      return decode(tokens);
    };

    const run = async () => {
      const n = Math.max(1, Math.min(2000, Math.floor(Number(count.value))));
      button.disabled = true;
      output.textContent = '';
      const t0 = performance.now();
      const text = await action(`Mamba-2: generate ${n} tokens`, async () => {
        const [tokens] = await generateMamba(mamba, [Array.from(encode(prompt.value || ' '))], n,
                                             {temperature: Number(temperature.value), seed: 1});
        return (prompt.value || ' ') + decode(tokens);
      });
      const seconds = (performance.now() - t0) / 1000;
      button.disabled = false;
      if (text === undefined) return;
      output.textContent = text;
      stats.textContent = `${n} tokens in ${seconds.toFixed(2)} s: ${(n / seconds).toFixed(1)} tokens/s on ${tf.getBackend()}`;
      demo.result.mamba = {text, tokensPerSecond: n / seconds};
    };
    button.onclick = () => void run();
    demo.actions.generate = async () => { await run(); return demo.result.mamba; };

    const race = async () => {
      const n = Math.max(16, Math.min(maxRace, Math.floor(Number(raceCount.value))));
      const ids = Array.from(encode(prompt.value || ' '));
      raceButton.disabled = true;
      const stamps = {mamba: [] as number[], transformer: [] as number[]};
      const draw = () => {
        const m = rates(ids.length, stamps.mamba), t = rates(ids.length, stamps.transformer);
        const contexts = m.contexts.length >= t.contexts.length ? m.contexts : t.contexts;
        const pad = (ys: number[]) => contexts.map((_, i) => ys[i] ?? null) as number[];
        chart.set(contexts, pad(m.perSecond), pad(t.perSecond));
      };
      const result = await action(`race: ${n} tokens per model`, async () => {
        for (const [name, model, generate] of [['mamba', mamba, generateMamba],
                                               ['transformer', transformer, generateTransformer]] as const) {
          const times = stamps[name];
          await generate(model, [ids], n, {onLogits: () => {
            times.push(performance.now());
            if (times.length % 4 === 0) draw();
          }});
          draw();
          await tf.nextFrame();
        }
        const mean = (ts: number[]) => (1000 * (ts.length - 1)) / (ts[ts.length - 1] - ts[0]);
        const tail = (ts: number[]) => (1000 * 8) / (ts[ts.length - 1] - ts[ts.length - 9]);
        return {tokens: n, mambaPerSecond: mean(stamps.mamba), transformerPerSecond: mean(stamps.transformer),
                mambaLast8PerSecond: tail(stamps.mamba), transformerLast8PerSecond: tail(stamps.transformer),
                points: rates(ids.length, stamps.mamba).contexts.length};
      });
      raceButton.disabled = false;
      if (result === undefined) return;
      raceStats.textContent = `${n} tokens after a ${ids.length}-token prompt on ${tf.getBackend()}: Mamba-2 ` +
          `${result.mambaPerSecond.toFixed(1)} tokens/s (last 8: ${result.mambaLast8PerSecond.toFixed(1)}), ` +
          `transformer ${result.transformerPerSecond.toFixed(1)} tokens/s (last 8: ` +
          `${result.transformerLast8PerSecond.toFixed(1)})`;
      demo.result.race = result;
    };
    raceButton.onclick = () => void race();
    demo.actions.race = async () => { await race(); return demo.result.race; };
  },
};
