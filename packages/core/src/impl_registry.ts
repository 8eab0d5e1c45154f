/**
 * Named implementations of one kernel for the host backends (plain JS, SIMD WebAssembly, ...): the kernels ask
 * the registry which one to run, benchmarks and tests force one for a while.
 */

/** Runs `fn` between `enter()` and `exit()`; `exit` also runs when `fn` throws or its promise settles. */
export function withScope<T>(enter: () => void, exit: () => void, fn: () => T): T {
  enter();
  let out: T;
  try {
    out = fn();
  } catch (e) {
    exit();
    throw e;
  }
  if (out instanceof Promise) return out.finally(exit) as T;
  exit();
  return out;
}

/**
 * A registry of implementations named by `name`. The active one is the forced one if any, else the most recently
 * registered one not named `fallback`, else `fallback`.
 *
 * @example
 * ```ts
 * const impls = new ImplRegistry<{name: string; run(x: Float32Array): Float32Array}>('myOp');
 * impls.register({name: 'js', run: (x) => x.map((v) => v * 2)});
 * impls.active().run(data);
 * impls.withForced('js', () => bench());
 * ```
 */
export class ImplRegistry<T extends {name: string}> {
  private readonly impls = new Map<string, T>();
  /**
   * Open withForced scopes, oldest first; the newest open one decides. A scope removes its own entry when it
   * exits, so overlapping async scopes may exit in any order.
   */
  private readonly forcedScopes: {name: string}[] = [];

  /** `op` names the op in error messages; `fallback` is the implementation that always exists. */
  constructor(private readonly op: string, private readonly fallback = 'js') {}

  register(impl: T): void {
    this.impls.set(impl.name, impl);
  }

  names(): string[] {
    return [...this.impls.keys()];
  }

  active(): T {
    const forced = this.forcedScopes.at(-1)?.name;
    if (forced !== undefined) {
      const impl = this.impls.get(forced);
      if (impl === undefined) throw new Error(`${this.op}: host implementation '${forced}' is not available`);
      return impl;
    }
    const preferred = [...this.impls.values()].reverse().find((i) => i.name !== this.fallback) ??
        this.impls.get(this.fallback);
    if (preferred === undefined) throw new Error(`${this.op}: no host implementation registered`);
    return preferred;
  }

  /**
   * Runs `fn` with implementation `name` forced (benchmarks, fallback tests). While several scopes are open
   * (nested, or overlapping async ones), the most recently entered one that is still open decides.
   */
  withForced<R>(name: string, fn: () => R): R {
    const scope = {name};
    return withScope(() => { this.forcedScopes.push(scope); }, () => {
      this.forcedScopes.splice(this.forcedScopes.indexOf(scope), 1);
    }, fn);
  }
}
