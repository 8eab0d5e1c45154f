/**
 * Training checkpoints that survive a kill: models (tfjs `model.json` + `weights.bin`, the tfjs-node file
 * format), optimizer slots, and a JSON state (step, RNG state, data position, logs) written together into a
 * fresh folder that then replaces the old one by rename, so a kill at any moment leaves either the previous
 * checkpoint or the new one, never half of each.
 *
 * @example
 * ```ts
 * const ckpt = new TrainingCheckpoint('runs/lm');
 * if (flags.resume && ckpt.exists()) {
 *   const saved = await ckpt.load({optimizers: {adam: optimizer}});
 *   model = saved.models.model; step = saved.state.step as number;
 * }
 * ...
 * await ckpt.save({models: {model}, optimizers: {adam: optimizer}, state: {step, rng: rng.state()}});
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '@tfjs-ext/core/node';  // file:// save and load routers

type NamedTensor = {name: string; tensor: tf.Tensor};

export interface CheckpointContents {
  models: Record<string, tf.LayersModel>;
  optimizers?: Record<string, tf.Optimizer>;
  /** Other tensors to keep (e.g. an exponential moving average of the weights), by name. */
  tensors?: Record<string, tf.Tensor[]>;
  /** Anything JSON-serialisable: step, RNG state, data position, loss history. */
  state: Record<string, unknown>;
}

/** Writes `model` as `model.json` + `weights.bin` into `dir` (`model.save('file://...')`, the tfjs-node format). */
export async function writeModel(model: tf.LayersModel, dir: string, metadata?: Record<string, unknown>): Promise<void> {
  if (metadata !== undefined) model.setUserDefinedMetadata(metadata);
  await model.save(`file://${path.resolve(dir)}`);
}

/** Reads a model written by {@link writeModel} (custom layers must be registered: import their package). */
export async function readModel(dir: string): Promise<{model: tf.LayersModel; metadata: Record<string, any>}> {
  const model = await tf.loadLayersModel(`file://${path.join(path.resolve(dir), 'model.json')}`);
  return {model, metadata: (model.getUserDefinedMetadata() ?? {}) as Record<string, any>};
}

async function writeOptimizer(optimizer: tf.Optimizer, file: string): Promise<void> {
  await writeTensors(await optimizer.getWeights(), file, adamAccumulators(optimizer));
}

async function writeTensors(named: NamedTensor[], file: string, acc: [tf.Variable, tf.Variable] | null = null):
    Promise<void> {
  const specs = [];
  const chunks: Uint8Array[] = [];
  for (const {name, tensor} of named) {
    const values = await tensor.data();
    specs.push({name, shape: tensor.shape, dtype: tensor.dtype});
    chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice());
  }
  // tfjs's Adam keeps beta1^t and beta2^t as running products that setWeights() recomputes with pow(): a
  // resumed run would differ in the last bits. Save them exactly (private fields of tfjs 4.x's AdamOptimizer).
  const extra = acc === null ? {} : {adam: await Promise.all(acc.map(async (v) => (await v.data())[0]))};
  fs.writeFileSync(`${file}.json`, JSON.stringify({weights: specs, ...extra}));
  fs.writeFileSync(`${file}.bin`, Buffer.concat(chunks));
}

function adamAccumulators(optimizer: tf.Optimizer): [tf.Variable, tf.Variable] | null {
  const o = optimizer as unknown as {accBeta1?: tf.Variable; accBeta2?: tf.Variable};
  return o.accBeta1 instanceof tf.Variable && o.accBeta2 instanceof tf.Variable ? [o.accBeta1, o.accBeta2] : null;
}

function readTensors(file: string): {named: NamedTensor[]; adam?: number[]} {
  const saved: {weights: Array<{name: string; shape: number[]; dtype: 'float32' | 'int32'}>; adam?: number[]} =
      JSON.parse(fs.readFileSync(`${file}.json`, 'utf8'));
  const specs = saved.weights;
  const bytes = fs.readFileSync(`${file}.bin`);
  let offset = 0;
  const named = specs.map(({name, shape, dtype}) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const buf = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * n);
    offset += 4 * n;
    return {name, tensor: tf.tensor(dtype === 'int32' ? new Int32Array(buf) : new Float32Array(buf), shape, dtype)};
  });
  return {named, adam: saved.adam};
}

async function readOptimizer(optimizer: tf.Optimizer, file: string): Promise<void> {
  const {named, adam} = readTensors(file);
  await optimizer.setWeights(named);  // slots are matched to variables by order, as tfjs optimizers apply them
  tf.dispose(named.map((n) => n.tensor));  // the optimizer's variables hold their own references
  const acc = adamAccumulators(optimizer);
  if (acc !== null && adam !== undefined) tf.tidy(() => acc.forEach((v, i) => v.assign(tf.scalar(adam[i]))));
}

/** A checkpoint folder: `save` replaces it atomically, `load` restores models, optimizer slots and state. */
export class TrainingCheckpoint {
  constructor(readonly dir: string) {}

  exists(): boolean {
    return fs.existsSync(path.join(this.dir, 'state.json'));
  }

  async save({models, optimizers = {}, tensors = {}, state}: CheckpointContents): Promise<void> {
    const tmp = `${this.dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, {recursive: true, force: true});
    fs.mkdirSync(tmp, {recursive: true});
    for (const [name, model] of Object.entries(models)) await writeModel(model, path.join(tmp, name));
    for (const [name, opt] of Object.entries(optimizers)) await writeOptimizer(opt, path.join(tmp, `optimizer-${name}`));
    for (const [name, list] of Object.entries(tensors)) {
      await writeTensors(list.map((tensor, i) => ({name: String(i), tensor})), path.join(tmp, `tensors-${name}`));
    }
    fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify({savedAt: new Date().toISOString(), ...state}));
    const old = `${this.dir}.old-${process.pid}`;
    if (fs.existsSync(this.dir)) fs.renameSync(this.dir, old);
    fs.renameSync(tmp, this.dir);
    fs.rmSync(old, {recursive: true, force: true});
  }

  /** Restores the saved optimizers' slots into `optimizers` (same names as saved) and returns models and state. */
  async load({optimizers = {}}: {optimizers?: Record<string, tf.Optimizer>} = {}):
      Promise<{models: Record<string, tf.LayersModel>; tensors: Record<string, tf.Tensor[]>;
               state: Record<string, unknown>}> {
    if (!this.exists()) throw new Error(`no checkpoint in ${this.dir} (nothing to resume)`);
    const models: Record<string, tf.LayersModel> = {};
    for (const entry of fs.readdirSync(this.dir, {withFileTypes: true})) {
      if (entry.isDirectory()) models[entry.name] = (await readModel(path.join(this.dir, entry.name))).model;
    }
    for (const [name, opt] of Object.entries(optimizers)) {
      const file = path.join(this.dir, `optimizer-${name}`);
      if (fs.existsSync(`${file}.json`)) await readOptimizer(opt, file);
    }
    const tensors: Record<string, tf.Tensor[]> = {};
    for (const f of fs.readdirSync(this.dir).filter((f) => f.startsWith('tensors-') && f.endsWith('.json'))) {
      tensors[f.slice('tensors-'.length, -'.json'.length)] =
          readTensors(path.join(this.dir, f.slice(0, -'.json'.length))).named.map((n) => n.tensor);
    }
    const state = JSON.parse(fs.readFileSync(path.join(this.dir, 'state.json'), 'utf8'));
    return {models, tensors, state};
  }
}
