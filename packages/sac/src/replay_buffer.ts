/**
 * Replay buffer over preallocated typed arrays (a ring of `capacity` transitions), sampled uniformly with a
 * seeded generator into reused batch arrays, as Stable-Baselines3's ReplayBuffer without memory optimisation.
 */
import {Random} from './random';

/** One sampled batch, row-major: `observations` is `[batchSize, obsDim]`, `rewards` `[batchSize, 1]`, ... */
export interface ReplayBatch {
  observations: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  nextObservations: Float32Array;
  /** 1 for a real terminal state, 0 otherwise (a time-limit truncation still bootstraps). */
  terminated: Float32Array;
}

/**
 * @example
 * ```ts
 * const buffer = new ReplayBuffer(10000, 3, 1);
 * buffer.add(obs, action, reward, nextObs, terminated);
 * const batch = buffer.sample(256, new Random(0));
 * ```
 */
export class ReplayBuffer {
  readonly observations: Float32Array;
  readonly actions: Float32Array;
  readonly rewards: Float32Array;
  readonly nextObservations: Float32Array;
  readonly terminated: Float32Array;
  /** Next slot to write. */
  position = 0;
  /** Transitions stored (at most `capacity`). */
  size = 0;
  private batch: ReplayBatch | null = null;

  constructor(readonly capacity: number, readonly obsDim: number, readonly actionDim: number) {
    for (const [name, v] of [['capacity', capacity], ['obsDim', obsDim], ['actionDim', actionDim]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`ReplayBuffer: ${name} must be a positive integer, got ${v}`);
    }
    this.observations = new Float32Array(capacity * obsDim);
    this.actions = new Float32Array(capacity * actionDim);
    this.rewards = new Float32Array(capacity);
    this.nextObservations = new Float32Array(capacity * obsDim);
    this.terminated = new Float32Array(capacity);
  }

  add(observation: ArrayLike<number>, action: ArrayLike<number>, reward: number, nextObservation: ArrayLike<number>,
      terminated: boolean): void {
    const i = this.position, o = this.obsDim, a = this.actionDim;
    for (let j = 0; j < o; j++) {
      this.observations[i * o + j] = observation[j];
      this.nextObservations[i * o + j] = nextObservation[j];
    }
    for (let j = 0; j < a; j++) this.actions[i * a + j] = action[j];
    this.rewards[i] = reward;
    this.terminated[i] = terminated ? 1 : 0;
    this.position = (i + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** `batchSize` transitions drawn uniformly with replacement; the returned arrays are reused by the next call. */
  sample(batchSize: number, rng: Random): ReplayBatch {
    if (this.size === 0) throw new Error('ReplayBuffer.sample: the buffer is empty');
    const o = this.obsDim, a = this.actionDim;
    if (this.batch === null || this.batch.rewards.length !== batchSize) {
      this.batch = {observations: new Float32Array(batchSize * o), actions: new Float32Array(batchSize * a),
                    rewards: new Float32Array(batchSize), nextObservations: new Float32Array(batchSize * o),
                    terminated: new Float32Array(batchSize)};
    }
    const b = this.batch;
    for (let k = 0; k < batchSize; k++) {
      const i = rng.int(this.size);
      b.observations.set(this.observations.subarray(i * o, i * o + o), k * o);
      b.nextObservations.set(this.nextObservations.subarray(i * o, i * o + o), k * o);
      b.actions.set(this.actions.subarray(i * a, i * a + a), k * a);
      b.rewards[k] = this.rewards[i];
      b.terminated[k] = this.terminated[i];
    }
    return b;
  }

  /** The stored transitions (first `size` slots) as one Float32Array, plus the ring position. */
  toData(): {position: number; size: number; data: Float32Array} {
    const n = this.size, o = this.obsDim, a = this.actionDim;
    const data = new Float32Array(n * (2 * o + a + 2));
    let off = 0;
    for (const arr of [this.observations.subarray(0, n * o), this.actions.subarray(0, n * a), this.rewards.subarray(0, n),
                       this.nextObservations.subarray(0, n * o), this.terminated.subarray(0, n)]) {
      data.set(arr, off);
      off += arr.length;
    }
    return {position: this.position, size: n, data};
  }

  fromData({position, size, data}: {position: number; size: number; data: Float32Array}): void {
    const n = size, o = this.obsDim, a = this.actionDim;
    if (n > this.capacity || data.length !== n * (2 * o + a + 2)) {
      throw new Error(`ReplayBuffer.fromData: ${data.length} values do not hold ${n} transitions of this buffer`);
    }
    let off = 0;
    for (const [arr, len] of [[this.observations, n * o], [this.actions, n * a], [this.rewards, n],
                              [this.nextObservations, n * o], [this.terminated, n]] as const) {
      arr.set(data.subarray(off, off + len));
      off += len;
    }
    this.position = position;
    this.size = n;
  }
}
