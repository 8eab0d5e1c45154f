/**
 * `file://` save and load for tfjs models in Node without tfjs-node: `model.save('file:///path/dir')` writes
 * `model.json` + `weights.bin` in the tfjs-node layout (so either library reads the other's files), and
 * `tf.loadLayersModel('file:///path/dir/model.json')` reads them back (any weight shards the manifest lists).
 * When tfjs-node is loaded its own routers serve `file://` and these step aside (tfjs refuses two handlers).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

const SCHEME = 'file://';
/** tfjs's router type (not exported by the union package's `io` namespace). */
type IORouter = Parameters<typeof tf.io.registerSaveRouter>[0];

/** The model folder of a save URL (`file:///a/b` or `file:///a/b/model.json` -> `/a/b`). */
function saveDir(url: string): string {
  const p = url.slice(SCHEME.length);
  return p.endsWith('.json') ? path.dirname(p) : p;
}

/** The model.json path of a load URL (a folder means its model.json). */
function modelJsonPath(url: string): string {
  const p = url.slice(SCHEME.length);
  return fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, 'model.json') : p;
}

/** A save handler writing `model.json` + `weights.bin` into `dir` (created if missing). */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      fs.mkdirSync(dir, {recursive: true});
      const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) :
          tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as {},
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs ?? []}],
        ...(artifacts.trainingConfig ? {trainingConfig: artifacts.trainingConfig} : {}),
        ...(artifacts.userDefinedMetadata ? {userDefinedMetadata: artifacts.userDefinedMetadata} : {}),
      };
      fs.writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(weightData));
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
    },
  };
}

/** A load handler reading a `model.json` and the weight files its manifest names (relative to it). */
export function fileLoadHandler(modelJson: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      if (!fs.existsSync(modelJson)) throw new Error(`file:// load: no model file at ${modelJson}`);
      const json = JSON.parse(fs.readFileSync(modelJson, 'utf8')) as tf.io.ModelJSON;
      const dir = path.dirname(modelJson);
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const buffers = manifest.flatMap((group) => group.paths.map((p) => {
          const b = fs.readFileSync(path.join(dir, p));
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
        }));
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

/** True once tfjs-node is loaded: it brings its own `file://` routers. */
function tfjsNodeLoaded(): boolean {
  return tf.engine().registryFactory.tensorflow !== undefined;
}

let registered = false;

/**
 * Registers the `file://` save and load routers (once; importing `@tfjs-ext/core/node` does it).
 *
 * @example
 * ```ts
 * import '@tfjs-ext/core/node';
 * await model.save('file:///tmp/my-model');
 * const again = await tf.loadLayersModel('file:///tmp/my-model/model.json');
 * ```
 */
export function registerFileRouters(): void {
  if (registered) return;
  registered = true;
  // A router answers null for URLs it does not serve (tfjs's IORouter type omits the null).
  const route = (make: (url: string) => tf.io.IOHandler): IORouter => ((url: string | string[]) => {
    if (Array.isArray(url) || !url.startsWith(SCHEME) || tfjsNodeLoaded()) return null;
    return make(url);
  }) as IORouter;
  tf.io.registerSaveRouter(route((url) => fileSaveHandler(saveDir(url))));
  tf.io.registerLoadRouter(route((url) => fileLoadHandler(modelJsonPath(url))));
}
