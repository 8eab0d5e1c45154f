/**
 * Reads the sections of a WebAssembly binary and checks the rules a tfjs-ext SIMD module must follow
 * (packages/core/src/simd/README.md): it is instantiated over memory it does not own (tfjs's wasm heap), so
 * - it has no data segments (instantiation would write them over tfjs's heap) and no data-count section,
 * - it imports exactly one thing, `env.memory` (the loader passes nothing else),
 * - it exports the mutable `__stack_pointer` (the loader moves the stack into each call's block) and `__heap_base`.
 * Used by build-wasm.mjs (build and --check) and by core's tests.
 */

const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start',
                       'element', 'code', 'data', 'data count'];

/** A byte reader with unsigned LEB128. */
function reader(bytes, at = 0) {
  return {
    get at() { return at; },
    byte() {
      if (at >= bytes.length) throw new Error('truncated module');
      return bytes[at++];
    },
    u32() {
      let result = 0, shift = 0, b;
      do {
        b = this.byte();
        result += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      return result;
    },
    name() {
      const n = this.u32();
      const s = new TextDecoder().decode(bytes.subarray(at, at + n));
      at += n;
      return s;
    },
    skip(n) { at += n; },
  };
}

/**
 * The module's sections (`{id, name, start, size}`), imports (`{module, field, kind}`), exports (`{name, kind}`)
 * and data segment count. Throws on a binary that is not a WebAssembly module.
 * @param {Uint8Array} bytes
 */
export function readWasmSections(bytes) {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) throw new Error('not a WebAssembly (v1) module');
  const r = reader(bytes, 8);
  const sections = [], imports = [], exports = [];
  let dataSegments = 0, dataCount = null;
  const kinds = ['function', 'table', 'memory', 'global'];
  while (r.at < bytes.length) {
    const id = r.byte(), size = r.u32(), start = r.at;
    sections.push({id, name: SECTION_NAMES[id] ?? `unknown ${id}`, start, size});
    if (id === 2) {
      const body = reader(bytes, start);
      for (let n = body.u32(); n > 0; n--) {
        const module = body.name(), field = body.name(), kind = body.byte();
        if (kind === 0) body.u32();                                               // type index
        else if (kind === 1) { body.byte(); if (body.byte() & 1) { body.u32(); } body.u32(); }  // reftype, limits
        else if (kind === 2) { if (body.byte() & 1) { body.u32(); } body.u32(); }               // limits
        else if (kind === 3) { body.byte(); body.byte(); }                        // value type, mutability
        else throw new Error(`unknown import kind ${kind}`);
        imports.push({module, field, kind: kinds[kind]});
      }
    } else if (id === 7) {
      const body = reader(bytes, start);
      for (let n = body.u32(); n > 0; n--) {
        const name = body.name(), kind = body.byte();
        body.u32();
        exports.push({name, kind: kinds[kind] ?? `kind ${kind}`});
      }
    } else if (id === 11) {
      dataSegments = reader(bytes, start).u32();
    } else if (id === 12) {
      dataCount = reader(bytes, start).u32();
    }
    r.skip(size);
  }
  if (r.at !== bytes.length) throw new Error('truncated module (a section runs past the end)');
  return {sections, imports, exports, dataSegments, dataCount};
}

/**
 * The rules a module breaks, as sentences (empty when it follows them all).
 * @param {Uint8Array} bytes
 */
export function wasmModuleProblems(bytes) {
  let info;
  try {
    info = readWasmSections(bytes);
  } catch (e) {
    return [String(e instanceof Error ? e.message : e)];
  }
  const problems = [];
  if (info.dataSegments > 0 || (info.dataCount ?? 0) > 0) {
    problems.push(`has ${Math.max(info.dataSegments, info.dataCount ?? 0)} data segment(s): instantiating it would ` +
                  'write them over the imported memory (tfjs\'s wasm heap); keep constants in code (no static ' +
                  'arrays or string literals), or compute tables at run time into scratch');
  }
  const other = info.imports.filter((i) => !(i.module === 'env' && i.field === 'memory' && i.kind === 'memory'));
  if (other.length > 0) {
    problems.push(`imports ${other.map((i) => `${i.module}.${i.field} (${i.kind})`).join(', ')}: only env.memory ` +
                  'is provided (no libc: build with -nostdlib and define what you call)');
  }
  if (!info.imports.some((i) => i.module === 'env' && i.field === 'memory' && i.kind === 'memory')) {
    problems.push('does not import env.memory (link with -Wl,--import-memory)');
  }
  for (const name of ['__stack_pointer', '__heap_base']) {
    if (!info.exports.some((e) => e.name === name && e.kind === 'global')) problems.push(`does not export ${name}`);
  }
  return problems;
}
