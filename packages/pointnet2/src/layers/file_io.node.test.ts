import * as tf from '@tensorflow/tfjs';
import {expect} from 'chai';
import {fileRoundTrip} from '@tfjs-ext/core/node';
import {describeBackends} from '@tfjs-ext/core/testing';
import {pointnet2ClsMSG, pointnet2ClsSSG, pointnet2PartSeg} from '../index';

// Every custom layer of @tfjs-ext/pointnet2 (SetAbstraction, SetAbstractionMSG, FeaturePropagation) through
// file:// save and load, in the three models (tiny widths).
const tiny = {width: 1 / 16, npoints: [8, 4] as [number, number], nsamples: [4, 6] as [number, number],
              radii: [0.5, 0.9] as [number, number]};

describeBackends('pointnet2 models: file:// save and load (Node)', () => {
  for (const [name, make] of [['pointnet2ClsSSG', () => pointnet2ClsSSG(4, tiny)],
                              ['pointnet2ClsMSG', () => pointnet2ClsMSG(4, {width: 1 / 16})],
                              ['pointnet2PartSeg', () => pointnet2PartSeg(3, tiny)]] as const) {
    it(`${name} reloads with identical outputs`, async () => {
      const model = make();
      const n = model.inputs[0].shape[1] ?? 32;
      const xyz = tf.randomUniform([2, n, 3], -1, 1, 'float32', 5);
      const {maxDiff, reloaded} = await fileRoundTrip(model, xyz);
      expect(maxDiff).to.equal(0);
      tf.dispose([xyz]);
      model.dispose();
      reloaded.dispose();
    });
  }
}, {only: ['cpu', 'wasm']});
