/** Bad-input assertions: the error must name the argument (and, where given, the expected shape). */

/**
 * Asserts that `fn` throws and that the message contains every one of `fragments` (strings or regexps).
 *
 * @example
 * ```ts
 * expectThrowsMatching(() => flashAttention(q3d, k, v), ['q', 'rank 4']);
 * ```
 */
export function expectThrowsMatching(fn: () => unknown, fragments: Array<string | RegExp>): void {
  let message: string | undefined;
  try {
    fn();
  } catch (e) {
    message = e instanceof Error ? e.message : String(e);
  }
  if (message === undefined) throw new Error(`expected an error mentioning ${fragments.join(', ')}, got none`);
  for (const f of fragments) {
    const hit = typeof f === 'string' ? message.includes(f) : f.test(message);
    if (!hit) throw new Error(`error message "${message}" does not mention ${f}`);
  }
}
