/** Shared bits of the KAN examples: flags, a progress bar, the backend. */
import * as tf from '@tensorflow/tfjs';
import {initBackend} from '@tfjs-ext/core';
import {FlagError, parseFlags} from '../common';

/**
 * The examples' flags through the shared parser (examples/node/common/flags.ts): `--name=value`, `--name value`,
 * `--no-name`, `--help`; numbers validated; unknown flags an error. `help` describes flags by name.
 */
export function flags<T extends Record<string, string | number | boolean>>(
    description: string, defaults: T, help: Partial<Record<keyof T, string>> = {}): T {
  const spec = Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, {default: v, help: help[k] ?? ''}]));
  try {
    return parseFlags(description, spec) as unknown as T;
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    console.error(`error: ${e.message}`);  // read at import: no stack trace for a mistyped flag
    process.exit(2);
  }
}

/** A one-line progress bar on stderr (redrawn in place on a terminal, every 10% otherwise). */
export function progress(label: string, done: number, total: number, extra = ''): void {
  const width = 24;
  const filled = Math.round((done / total) * width);
  const bar = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${extra}`;
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${bar}\x1b[K${done === total ? '\n' : ''}`);
  } else if (done === total || done % Math.max(1, Math.floor(total / 10)) === 0) {
    process.stderr.write(bar + '\n');
  }
}

export async function useBackend(name: string): Promise<void> {
  const status = await initBackend(name as never);
  if (!status.available) throw new Error(`backend ${name} unavailable: ${status.reason}`);
  console.log(`backend: ${name}${status.device ? ` (${status.device})` : ''}`);
}

export function fmt(v: number): string {
  return v.toExponential(2);
}
