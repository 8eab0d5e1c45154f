/**
 * The training text: Debian's `fortunes` package (/usr/share/games/fortunes), plain-text files of quotes
 * separated by lines holding a single `%`. Tokens are characters: printable ASCII plus newline.
 */
import * as fs from 'fs';
import * as path from 'path';
import {encode} from './tokenizer';

export {decode, encode, VOCAB} from './tokenizer';

export const FORTUNES_DIR = '/usr/share/games/fortunes';

/** Every fortune of every plain-text file in `dir` (the `.dat` indexes and `.u8` links are skipped). */
export function readFortunes(dir = FORTUNES_DIR): string[] {
  if (!fs.existsSync(dir)) {
    throw new Error(`${dir} not found: install Debian's 'fortunes' package (apt-get install fortunes)`);
  }
  const fortunes: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    if (name.endsWith('.dat') || name.endsWith('.u8') || !fs.statSync(file).isFile()) continue;
    const text = fs.readFileSync(file, 'latin1')
                     .replace(/.\x08/g, '')        // "overstriking" (x BACKSPACE x): keep the last character
                     .replace(/\t/g, '    ')
                     .replace(/[^\x20-\x7e\n]/g, '');  // printable ASCII and newlines only
    for (const fortune of text.split(/^%$/m)) {
      const trimmed = fortune.replace(/^\n+|\s+$/g, '');
      if (trimmed.length > 0) fortunes.push(trimmed);
    }
  }
  return fortunes;
}

/** The corpus as one token stream (fortunes joined by a blank line), split into training and validation. */
export function loadCorpus(validationFraction = 0.05): {train: Int32Array; validation: Int32Array; fortunes: number} {
  const fortunes = readFortunes();
  const tokens = encode(fortunes.join('\n\n') + '\n');
  const cut = Math.floor(tokens.length * (1 - validationFraction));
  return {train: tokens.subarray(0, cut), validation: tokens.subarray(cut), fortunes: fortunes.length};
}
