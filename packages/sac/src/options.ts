/** SAC's options: Stable-Baselines3's SAC arguments, camelCased, with its defaults. */
import {Env} from './envs/env';

export interface SACOptions {
  /** Adam learning rate of actor, critics and temperature (SB3: 3e-4; RL Zoo's Pendulum: 1e-3). */
  learningRate?: number;
  /** Replay capacity (SB3: 1e6). */
  bufferSize?: number;
  /** Uniform random actions for this many steps before training starts (SB3: 100). */
  learningStarts?: number;
  /** Minibatch size (SB3: 256). */
  batchSize?: number;
  /** Polyak coefficient of the target critics (SB3: 0.005). */
  tau?: number;
  /** Discount (SB3: 0.99). */
  gamma?: number;
  /** Environment steps between training rounds (SB3: 1). */
  trainFreq?: number;
  /** Gradient steps per round; -1: as many as environment steps in the round (SB3: 1). */
  gradientSteps?: number;
  /** Temperature: 'auto' (learned, starting at 1), `'auto_0.1'` (learned, starting at 0.1), or a fixed number. */
  entCoef?: 'auto' | `auto_${number}` | number;
  /** Target entropy of the automatic temperature: 'auto' = -actionDim (SB3's default). */
  targetEntropy?: 'auto' | number;
  /** Hidden widths of actor and critics (SB3: [256, 256]). */
  netArch?: number[];
  /** Seed of the initialisation, noise, replay sampling and episode resets. */
  seed?: number;
}

export const SAC_OPTION_KEYS = ['learningRate', 'bufferSize', 'learningStarts', 'batchSize', 'tau', 'gamma',
  'trainFreq', 'gradientSteps', 'entCoef', 'targetEntropy', 'netArch', 'seed'] as const;

export interface ResolvedOptions {
  learningRate: number;
  bufferSize: number;
  learningStarts: number;
  batchSize: number;
  tau: number;
  gamma: number;
  trainFreq: number;
  gradientSteps: number;
  entCoef: 'auto' | number;
  /** Initial temperature (1 for 'auto', x for 'auto_x', the fixed value otherwise). */
  entCoefInit: number;
  targetEntropy: number;
  netArch: number[];
  seed: number;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`SAC: option ${name} must be a positive integer, got ${v}`);
  return v;
}

function inRange(name: string, v: number, lo: number, hi: number): number {
  if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw new Error(`SAC: option ${name} must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

/** SB3's defaults filled in, each value checked (the error names the option). */
export function resolveOptions(o: SACOptions, actionDim: number): ResolvedOptions {
  const learningStarts = o.learningStarts ?? 100;
  if (!Number.isInteger(learningStarts) || learningStarts < 0) {
    throw new Error(`SAC: option learningStarts must be a non-negative integer, got ${learningStarts}`);
  }
  const gradientSteps = o.gradientSteps ?? 1;
  if (gradientSteps !== -1) positiveInt('gradientSteps', gradientSteps);
  let entCoef: 'auto' | number, entCoefInit: number;
  const e = o.entCoef ?? 'auto';
  if (e === 'auto' || (typeof e === 'string' && /^auto_[0-9.eE+-]+$/.test(e) && Number(e.slice(5)) > 0)) {
    entCoef = 'auto';
    entCoefInit = e === 'auto' ? 1 : Number(e.slice(5));
  } else if (typeof e === 'number' && e > 0 && Number.isFinite(e)) {
    entCoef = e;
    entCoefInit = e;
  } else {
    throw new Error(`SAC: option entCoef must be 'auto', 'auto_<initial value>' or a positive number, got ${String(e)}`);
  }
  const t = o.targetEntropy ?? 'auto';
  if (t !== 'auto' && (typeof t !== 'number' || !Number.isFinite(t))) {
    throw new Error(`SAC: option targetEntropy must be 'auto' or a number, got ${String(t)}`);
  }
  const netArch = o.netArch ?? [256, 256];
  if (!Array.isArray(netArch) || netArch.length === 0 || !netArch.every((u) => Number.isInteger(u) && u > 0)) {
    throw new Error(`SAC: option netArch must be a non-empty array of positive integers, got ${JSON.stringify(netArch)}`);
  }
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`SAC: option seed must be an integer, got ${seed}`);
  return {
    learningRate: inRange('learningRate', o.learningRate ?? 3e-4, 0, Infinity),
    bufferSize: positiveInt('bufferSize', o.bufferSize ?? 1_000_000),
    learningStarts,
    batchSize: positiveInt('batchSize', o.batchSize ?? 256),
    tau: inRange('tau', o.tau ?? 0.005, 0, 1),
    gamma: inRange('gamma', o.gamma ?? 0.99, 0, 1),
    trainFreq: positiveInt('trainFreq', o.trainFreq ?? 1),
    gradientSteps, entCoef, entCoefInit,
    targetEntropy: t === 'auto' ? -actionDim : t,
    netArch: [...netArch], seed,
  };
}

function checkBox(env: string, name: string, space: unknown, bounded: boolean): void {
  const s = space as {shape?: unknown; low?: unknown; high?: unknown} | undefined;
  const fail = (why: string) => {
    throw new Error(`SAC: env.${name} ${why} (SAC needs a continuous 1-D Box${bounded ? ' with finite bounds' : ''})`);
  };
  if (s === undefined || s === null || typeof s !== 'object') fail('is missing');
  if (!Array.isArray(s!.shape) || !Array.isArray(s!.low) || !Array.isArray(s!.high)) {
    fail('must have shape, low and high arrays (a discrete space has none)');
  }
  const shape = s!.shape as number[], low = s!.low as number[], high = s!.high as number[];
  if (shape.length !== 1 || !Number.isInteger(shape[0]) || shape[0] < 1) fail(`has shape [${shape}], not 1-D`);
  if (low.length !== shape[0] || high.length !== shape[0]) {
    fail(`has low/high of lengths ${low.length}/${high.length} for shape [${shape}]`);
  }
  if (bounded && ![...low, ...high].every(Number.isFinite)) fail(`is unbounded (low [${low}], high [${high}])`);
  if (!low.every((l, i) => l < high[i] || (!bounded && l <= high[i]))) fail(`has low >= high`);
  void env;
}

/** Throws unless the observation space is a 1-D box and the action space a bounded 1-D box. */
export function checkSpaces(env: Env): void {
  if (env === null || typeof env !== 'object' || typeof env.reset !== 'function' || typeof env.step !== 'function') {
    throw new Error('SAC: env must implement Env (observationSpace, actionSpace, reset, step)');
  }
  checkBox('env', 'observationSpace', env.observationSpace, false);
  checkBox('env', 'actionSpace', env.actionSpace, true);
}
