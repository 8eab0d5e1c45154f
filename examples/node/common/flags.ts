/**
 * One command-line parser for every example: `--name=value` and `--name value`, booleans as `--name` (or
 * `--name=false`, `--name false`, `--no-name`), numbers validated, `--help` everywhere, unknown flags an error without a stack trace.
 *
 * @example
 * ```ts
 * runExample(async () => {
 *   const flags = parseFlags('train.ts: trains a thing', {
 *     steps: {default: 1000, help: 'optimiser steps'},
 *     resume: {default: false, help: 'continue from the checkpoint in --out'},
 *     out: {default: 'runs/thing', help: 'output folder'},
 *   });
 *   // flags.steps: number, flags.resume: boolean, flags.out: string
 * });
 * ```
 */

type FlagValue = number | string | boolean;
export type FlagSpec = Record<string, {default: FlagValue; help: string}>;
export type Flags<S extends FlagSpec> = {[K in keyof S]: S[K]['default'] extends number ? number :
                                                         S[K]['default'] extends boolean ? boolean : string};

/** An error in the command line: printed without a stack trace by {@link runExample}. */
export class FlagError extends Error {}

/** The `--help` text for `spec`. */
export function usage(description: string, spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([name, {default: d, help}]) => {
    const shown = typeof d === 'boolean' ? `--${name}` : `--${name}=${d === '' ? '""' : d}`;
    return `  ${shown.padEnd(34)} ${help}`;
  });
  return `${description}\n\nflags (with defaults):\n${rows.join('\n')}\n  ${'--help'.padEnd(34)} this text`;
}

/** Parses `argv` against `spec`; prints usage and exits on `--help`; throws {@link FlagError} on bad input. */
export function parseFlags<S extends FlagSpec>(description: string, spec: S,
                                               argv: string[] = process.argv.slice(2)): Flags<S> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage(description, spec));
    process.exit(0);
  }
  const out: Record<string, FlagValue> = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, v.default]));
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(argv[i]);
    if (m === null) throw new FlagError(`unexpected argument '${argv[i]}' (flags start with --; see --help)`);
    let [, name, inline] = m;
    if (!(name in spec) && name.startsWith('no-') && typeof spec[name.slice(3)]?.default === 'boolean' &&
        inline === undefined) {
      name = name.slice(3);  // --no-wide
      inline = 'false';
    }
    if (!(name in spec)) {
      throw new FlagError(`unknown flag --${name}; known flags: ${Object.keys(spec).map((k) => `--${k}`).join(', ')}`);
    }
    const kind = typeof spec[name].default;
    let raw = inline;
    if (raw === undefined && kind === 'boolean' && ['true', 'false'].includes(argv[i + 1])) raw = argv[++i];
    if (raw === undefined && kind !== 'boolean') {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new FlagError(`--${name} needs a value`);
      raw = argv[++i];
    }
    if (kind === 'boolean') {
      if (raw === undefined || raw === 'true' || raw === '1') out[name] = true;
      else if (raw === 'false' || raw === '0') out[name] = false;
      else throw new FlagError(`--${name} is a switch: give --${name} or --${name}=false, not '${raw}'`);
    } else if (kind === 'number') {
      const value = Number(raw);
      if (raw!.trim() === '' || !Number.isFinite(value)) throw new FlagError(`--${name} expects a number, got '${raw}'`);
      out[name] = value;
    } else {
      out[name] = raw!;
    }
  }
  return out as Flags<S>;
}

/** Runs an example's `main`: a {@link FlagError} prints its message and exits with code 2, no stack trace. */
export function runExample(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    if (e instanceof FlagError) {
      console.error(`error: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(e);
      process.exitCode = 1;
    }
  });
}
