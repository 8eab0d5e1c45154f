/** Shared bits of the KAN examples: flags, a progress bar, seeded data. */
import * as tf from '@tensorflow/tfjs';
import {initBackend} from '@tfjs-ext/core';

/** `--name=value` / `--name value` flags with defaults (numbers parsed where the default is a number). */
export function flags<T extends Record<string, string | number | boolean>>(defaults: T): T {
  const out: Record<string, string | number | boolean> = {...defaults};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) continue;
    let key = m[1];
    let negated = false;
    if (key.startsWith('no-') && typeof defaults[key.slice(3)] === 'boolean') {
      key = key.slice(3);
      negated = true;
    }
    if (!(key in defaults)) throw new Error(`unknown flag --${key}; known: ${Object.keys(defaults).join(', ')}`);
    let value: string | undefined = m[2];
    if (value === undefined) {
      if (typeof defaults[key] === 'boolean') value = negated ? 'false' : 'true';
      else value = argv[++i];
    }
    const d = defaults[key];
    out[key] = typeof d === 'number' ? Number(value) : typeof d === 'boolean' ? value !== 'false' : value;
  }
  return out as T;
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
