/**
 * Saving and restoring a whole SAC agent as one tfjs ModelArtifacts: the five networks' topologies, every weight
 * (networks, temperature, Adam slots, optionally the replay buffer) in one weight blob, counters and RNG state in
 * the metadata. Written through any `tf.io.IOHandler`, or in Node to a folder (`sac.json` + `weights.bin`).
 */
import * as tf from '@tensorflow/tfjs';
import type {SACOptions} from './options';
import type {RunState, SavableAgent} from './agent_parts';

const FORMAT = 'tfjs-ext-sac';
const MODELS = ['actor', 'critic1', 'critic2', 'criticTarget1', 'criticTarget2'] as const;
const OPTIMIZERS = ['actorOptimizer', 'criticOptimizer', 'entCoefOptimizer'] as const;

export interface AgentArtifacts {
  options: SACOptions;
  runState: RunState;
  weights: tf.NamedTensorMap;
  /** Steps taken by each Adam (its bias correction). */
  optimizerCounts: Record<string, number>;
  replayBuffer: {position: number; size: number} | null;
}

function isNodeFolder(destination: string): boolean {
  return !/^[a-z]+:\/\//i.test(destination) || destination.startsWith('file://');
}

/** A folder handler for Node: `sac.json` (everything but the weights) + `weights.bin`, replaced atomically. */
async function folderHandler(dir: string): Promise<tf.io.IOHandler> {
  const fs = await import('fs');
  const path = await import('path');
  dir = dir.replace(/^file:\/\//, '');
  return {
    async save(artifacts: tf.io.ModelArtifacts) {
      const tmp = `${dir}.tmp-${process.pid}`;
      fs.rmSync(tmp, {recursive: true, force: true});
      fs.mkdirSync(tmp, {recursive: true});
      const data = artifacts.weightData === undefined ? new ArrayBuffer(0) :
          tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      fs.writeFileSync(path.join(tmp, 'sac.json'), JSON.stringify({
        modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs,
        userDefinedMetadata: artifacts.userDefinedMetadata}));
      fs.writeFileSync(path.join(tmp, 'weights.bin'), new Uint8Array(data));
      const old = `${dir}.old-${process.pid}`;
      if (fs.existsSync(dir)) fs.renameSync(dir, old);
      fs.renameSync(tmp, dir);
      fs.rmSync(old, {recursive: true, force: true});
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: data.byteLength}};
    },
    async load() {
      const json = path.join(dir, 'sac.json');
      if (!fs.existsSync(json)) throw new Error(`SAC.load: no saved agent at ${dir} (missing sac.json)`);
      const meta = JSON.parse(fs.readFileSync(json, 'utf8'));
      const bytes = fs.readFileSync(path.join(dir, 'weights.bin'));
      return {...meta, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)};
    },
  };
}

async function handlerFor(target: string | tf.io.IOHandler, mode: 'save' | 'load'): Promise<tf.io.IOHandler> {
  if (typeof target !== 'string') return target;
  if (isNodeFolder(target)) return folderHandler(target);
  const handlers = mode === 'save' ? tf.io.getSaveHandlers(target) : tf.io.getLoadHandlers(target);
  if (handlers.length === 0) throw new Error(`SAC.${mode}: no tfjs IO handler for '${target}'`);
  return handlers[0];
}

export async function saveAgent(agent: SavableAgent, destination: string | tf.io.IOHandler,
                                {includeReplayBuffer = false}: {includeReplayBuffer?: boolean} = {}): Promise<void> {
  const handler = await handlerFor(destination, 'save');
  if (handler.save === undefined) throw new Error('SAC.save: the IO handler cannot save');
  const named: {name: string; tensor: tf.Tensor}[] = [];
  const created: tf.Tensor[] = [];
  for (const key of MODELS) agent[key].weights.forEach((w, i) => named.push({name: `${key}/${i}`, tensor: w.read()}));
  named.push({name: 'logEntCoef', tensor: agent.logEntCoef});
  const optimizerCounts: Record<string, number> = {};
  for (const key of OPTIMIZERS) {
    const opt = agent[key];
    if (opt === null) continue;
    const {t, tensors} = opt.getState();
    for (const {name, tensor} of tensors) {
      created.push(tensor);
      named.push({name: `${key}/${name}`, tensor});
    }
    optimizerCounts[key] = t;
  }
  let replayBuffer: AgentArtifacts['replayBuffer'] = null;
  if (includeReplayBuffer) {
    const {position, size, data} = agent.replayBuffer.toData();
    const t = tf.tensor1d(data);
    created.push(t);
    named.push({name: 'replayBuffer', tensor: t});
    replayBuffer = {position, size};
  }
  const {data, specs} = await tf.io.encodeWeights(named);
  tf.dispose(created);
  const o = agent.options;
  const options: SACOptions = {
    learningRate: o.learningRate, bufferSize: o.bufferSize, learningStarts: o.learningStarts, batchSize: o.batchSize,
    tau: o.tau, gamma: o.gamma, trainFreq: o.trainFreq, gradientSteps: o.gradientSteps,
    entCoef: o.entCoef === 'auto' ? `auto_${o.entCoefInit}` : o.entCoef, targetEntropy: o.targetEntropy,
    netArch: o.netArch, seed: o.seed,
  };
  const topology: Record<string, unknown> = {format: FORMAT, version: 1};
  for (const key of MODELS) topology[key] = agent[key].toJSON(null, false);
  await handler.save({
    modelTopology: topology, weightSpecs: specs, weightData: data,
    userDefinedMetadata: {options, runState: agent.getRunState(), optimizerCounts, replayBuffer} as any,
  });
}

export async function readAgentArtifacts(source: string | tf.io.IOHandler): Promise<AgentArtifacts> {
  const handler = await handlerFor(source, 'load');
  if (handler.load === undefined) throw new Error('SAC.load: the IO handler cannot load');
  const a = await handler.load();
  const topology = a.modelTopology as {format?: string} | undefined;
  if (topology?.format !== FORMAT || a.weightSpecs === undefined || a.weightData === undefined) {
    throw new Error(`SAC.load: not a saved SAC agent (expected format '${FORMAT}')`);
  }
  const meta = a.userDefinedMetadata as any;
  const weights = tf.io.decodeWeights(a.weightData, a.weightSpecs);
  return {options: meta.options, runState: meta.runState, weights, optimizerCounts: meta.optimizerCounts,
          replayBuffer: meta.replayBuffer};
}

/** Copies saved values into a freshly built agent with the same options, then frees the decoded tensors. */
export async function restoreAgent(agent: SavableAgent, a: AgentArtifacts): Promise<void> {
  try {
    for (const key of MODELS) {
      agent[key].setWeights(agent[key].weights.map((_, i) => a.weights[`${key}/${i}`]));
    }
    agent.logEntCoef.assign(a.weights.logEntCoef as tf.Scalar);
    for (const key of OPTIMIZERS) {
      const opt = agent[key];
      const t = a.optimizerCounts[key];
      if (opt === null || t === undefined) continue;
      const prefix = `${key}/`;
      const state: Record<string, tf.Tensor> = {};
      for (const [name, tensor] of Object.entries(a.weights)) {
        if (name.startsWith(prefix)) state[name.slice(prefix.length)] = tensor;
      }
      await opt.setState(t, state);
    }
    if (a.replayBuffer !== null) {
      agent.replayBuffer.fromData({...a.replayBuffer, data: await a.weights.replayBuffer.data() as Float32Array});
    }
    agent.setRunState(a.runState);
  } finally {
    tf.dispose(Object.values(a.weights));
  }
}
