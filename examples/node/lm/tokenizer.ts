/**
 * The character tokenizer of the LM examples (no Node APIs: the browser demo imports it too): index 0 is
 * newline, then printable ASCII 32..126.
 */

/** Character vocabulary: index 0 is newline, then ASCII 32..126 (96 tokens). */
export const VOCAB: string[] = ['\n', ...Array.from({length: 95}, (_, i) => String.fromCharCode(32 + i))];

export function encode(text: string): Int32Array {
  return Int32Array.from(text, (c) => (c === '\n' ? 0 : Math.max(0, Math.min(95, c.charCodeAt(0) - 31))));
}

export function decode(tokens: ArrayLike<number>): string {
  return Array.from(tokens, (t) => VOCAB[t] ?? '?').join('');
}
