/** Base64 to bytes, in browsers (`atob`) and Node (`Buffer`). */
export function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const g = globalThis as any;
  if (typeof g.atob === 'function') {
    const s: string = g.atob(base64);
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes;
  }
  return new Uint8Array(g.Buffer.from(base64, 'base64') as ArrayLike<number>);
}
