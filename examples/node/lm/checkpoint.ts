/**
 * Checkpoints without tfjs-node: `model.json` (topology, weight manifest, our metadata) and `weights.bin`,
 * written through `tf.io.withSaveHandler` and read back with `tf.io.fromMemory`. The custom layers register
 * themselves when @tfjs-ext/attention is imported, so `tf.loadLayersModel` can rebuild the model.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '@tfjs-ext/attention';

export async function saveCheckpoint(model: tf.LayersModel, dir: string, metadata: Record<string, unknown>): Promise<void> {
  fs.mkdirSync(dir, {recursive: true});
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) :
        tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    const modelJson = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs}],
      userDefinedMetadata: metadata,
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
    fs.writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(weightData));
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength}};
  }));
}

export async function loadCheckpoint(dir: string): Promise<{model: tf.LayersModel; metadata: Record<string, any>}> {
  const modelJsonPath = path.join(dir, 'model.json');
  if (!fs.existsSync(modelJsonPath)) throw new Error(`no checkpoint at ${dir}: run train.ts first (or pass --checkpoint=DIR)`);
  const modelJson = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
  const manifest = modelJson.weightsManifest[0];
  const bytes = fs.readFileSync(path.join(dir, manifest.paths[0]));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: modelJson.modelTopology, weightSpecs: manifest.weights, weightData,
  }));
  return {model, metadata: modelJson.userDefinedMetadata ?? {}};
}
