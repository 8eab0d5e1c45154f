// What a webgl-only user bundles (its size is reported): tfjs, the attention and KAN packages, nothing else.
import * as tf from '@tensorflow/tfjs';
import {flashAttention} from '@tfjs-ext/attention';
import {kan} from '@tfjs-ext/kan';

await tf.setBackend('webgl');
const x = tf.randomNormal([1, 8, 2, 4]);
console.log(flashAttention(x, x, x).shape, kan([2, 1]).countParams());
