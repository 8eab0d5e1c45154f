// A TypeScript user's imports of every subpath: the consumer test compiles this under moduleResolution node
// (node10), node16 and bundler (TypeScript 5.9, what most users have).
import * as tf from '@tensorflow/tfjs';
import {defineOp, initBackend} from '@tfjs-ext/core';
import {fileRoundTrip} from '@tfjs-ext/core/node';
import {describeBackends} from '@tfjs-ext/core/testing';
import {runCase} from '@tfjs-ext/core/bench';
import {runProgram} from '@tfjs-ext/core/webgpu';
import {flashAttention} from '@tfjs-ext/attention';
import {kan} from '@tfjs-ext/kan';

export const used = [defineOp, initBackend, fileRoundTrip, describeBackends, runCase, runProgram, kan];
export const out: tf.Tensor = flashAttention(tf.ones([1, 2, 1, 4]), tf.ones([1, 2, 1, 4]), tf.ones([1, 2, 1, 4]));
