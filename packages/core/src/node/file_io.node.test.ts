import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {fileLoadHandler, fileRoundTrip, fileSaveHandler} from './index';
import {initBackend} from '../backends';
import {describeBackends} from '../testing';

describeBackends('file:// save and load (Node)', () => {
  it('writes model.json + weights.bin in the tfjs-node layout and reloads the same outputs', async () => {
    const model = tf.sequential({layers: [tf.layers.dense({units: 3, inputShape: [4], activation: 'tanh'}),
                                          tf.layers.dense({units: 2})]});
    const x = tf.randomNormal([5, 4]);
    const {maxDiff, reloaded, files} = await fileRoundTrip(model, x);
    expect(files).to.deep.equal(['model.json', 'weights.bin']);
    expect(maxDiff).to.equal(0);
    tf.dispose([x]);
    model.dispose();
    reloaded.dispose();
  });

  it('reads a model.json whose weights are split into shards', async () => {
    const model = tf.sequential({layers: [tf.layers.dense({units: 2, inputShape: [3]})]});
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-ext-shards-'));
    await model.save(fileSaveHandler(dir));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const bytes = fs.readFileSync(path.join(dir, 'weights.bin'));
    fs.writeFileSync(path.join(dir, 'a.bin'), bytes.subarray(0, 8));
    fs.writeFileSync(path.join(dir, 'b.bin'), bytes.subarray(8));
    json.weightsManifest[0].paths = ['a.bin', 'b.bin'];
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const reloaded = await tf.loadLayersModel(fileLoadHandler(path.join(dir, 'model.json')));
    const [w0, w1] = [model.getWeights(), reloaded.getWeights()].map((ws) => ws.map((w) => Array.from(w.dataSync())));
    expect(w1).to.deep.equal(w0);
    model.dispose();
    reloaded.dispose();
    fs.rmSync(dir, {recursive: true, force: true});
  });

  it('writes files tfjs-node reads and reads the files tfjs-node writes (when tfjs-node is installed)', async function() {
    const status = await initBackend('tensorflow');
    await initBackend('cpu');
    if (!status.available) {
      console.log(`      tfjs-node interop not checked: ${status.reason}`);
      this.skip();
    }
    // With tfjs-node loaded, 'file://' URLs go to its handlers; ours are used explicitly.
    const model = tf.sequential({layers: [tf.layers.dense({units: 2, inputShape: [3], activation: 'relu'})]});
    const x = tf.randomNormal([4, 3]);
    const ours = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-ext-ours-'));
    await model.save(fileSaveHandler(ours));
    const byNode = await tf.loadLayersModel(`file://${path.join(ours, 'model.json')}`);
    const theirs = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-ext-theirs-'));
    await model.save(`file://${theirs}`);
    const byUs = await tf.loadLayersModel(fileLoadHandler(path.join(theirs, 'model.json')));
    for (const m of [byNode, byUs]) {
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, m.predict(x) as tf.Tensor))));
      expect((await d.data())[0]).to.equal(0);
      d.dispose();
      m.dispose();
    }
    tf.dispose([x]);
    model.dispose();
    [ours, theirs].forEach((d) => fs.rmSync(d, {recursive: true, force: true}));
  });

  it('names the missing file when loading from a folder without a model', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-ext-empty-'));
    let message = '';
    try {
      await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
    } catch (e) {
      message = String(e);
    }
    expect(message).to.contain(path.join(dir, 'model.json'));
    fs.rmSync(dir, {recursive: true, force: true});
  });
}, {only: ['cpu']});
