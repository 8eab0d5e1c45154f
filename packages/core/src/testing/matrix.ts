/**
 * Runs a mocha suite once per backend of the matrix. An unavailable backend is reported as skipped with its
 * reason (printed, and its tests marked pending), never silently dropped.
 */
import * as tf from '@tensorflow/tfjs';
import {BackendName, BackendStatus, initBackend, knownBackends} from '../backends';

/**
 * The backends this run tests: `TFJS_EXT_BACKENDS` (comma-separated) in Node, `?backends=` in the browser,
 * else every known backend.
 */
export function backendMatrix(): BackendName[] {
  const g = globalThis as any;
  const fromEnv: string | undefined = typeof process !== 'undefined' ? process.env?.TFJS_EXT_BACKENDS : undefined;
  const spec: string | undefined = fromEnv ?? g.__TFJS_EXT_BACKENDS__;
  if (spec === undefined || spec === '') return knownBackends();
  return spec.split(',').map((s) => s.trim()).filter((s) => s !== '') as BackendName[];
}

/** Statuses seen so far, for the summary the test runner prints. */
export const backendsSeen = new Map<BackendName, BackendStatus>();

export interface BackendSuiteContext {
  /** The backend this copy of the suite runs on. */
  backend: BackendName;
  /** Its status (device, emulated) once `before` ran. */
  status(): BackendStatus;
}

export interface DescribeBackendsOptions {
  /** Restrict to these backends (e.g. a kernel that only exists where it makes sense). */
  only?: BackendName[];
}

/**
 * `describe` once per backend. Inside, tests run with that backend active and with `IS_TEST` on, so the engine
 * throws on a kernel that leaks a data id.
 *
 * @example
 * ```ts
 * describeBackends('flashAttention', ({backend}) => {
 *   it('matches the reference', async () => { ... });
 * });
 * ```
 */
export function describeBackends(title: string, body: (ctx: BackendSuiteContext) => void,
                                 options: DescribeBackendsOptions = {}): void {
  for (const backend of backendMatrix()) {
    if (options.only !== undefined && !options.only.includes(backend)) continue;
    let status: BackendStatus = {name: backend, available: false, reason: 'not initialised'};
    describe(`${title} [${backend}]`, function() {
      this.timeout(backend === 'webgpu' ? 120000 : 60000);
      before(async function() {
        status = await initBackend(backend);
        backendsSeen.set(backend, status);
        if (!status.available) {
          console.log(`      skipped on ${backend}: ${status.reason}`);
          this.skip();
        }
      });
      beforeEach(async () => {
        // Another suite may have switched backends in between.
        if (tf.getBackend() !== backend) await initBackend(backend);
        tf.env().set('IS_TEST', true);
      });
      body({backend, status: () => status});
    });
  }
}
