/**
 * A benchmark suite: one file per op (`*.bench.ts` in a package's `src/`), run by `npm run bench` on every
 * available backend. Each suite returns rows from {@link runCase}; the runner prints and saves them.
 */
import type {BackendName} from '../backends';
import type {BenchRow} from './harness';

export interface BenchSuiteOptions {
  /** Small sizes only (CI smoke runs, SwiftShader). */
  quick: boolean;
  /** True when the active backend is software emulation (SwiftShader): use the emulation sizes. */
  emulated: boolean;
  /**
   * Which repetition this is (0-based) when the runner repeats the suite (`--repeat=K`): a suite may run its
   * costly cases (large sizes, slow baselines) in repetition 0 only; their rows then hold one repetition.
   */
  repetition?: number;
}

export interface BenchSuite {
  /** File name under `bench/results/`, e.g. `flash-attention`. */
  name: string;
  /** Backends this suite runs on (others are skipped). */
  backends: BackendName[];
  /** Runs every case on the already-active `backend`. */
  run(backend: BackendName, opts: BenchSuiteOptions): Promise<BenchRow[]>;
  /** Lines printed under the table (targets met or not, caveats). */
  notes?(rows: BenchRow[]): string[];
}
