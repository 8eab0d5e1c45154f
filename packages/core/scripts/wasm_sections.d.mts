export interface WasmSections {
  sections: Array<{id: number; name: string; start: number; size: number}>;
  imports: Array<{module: string; field: string; kind: string}>;
  exports: Array<{name: string; kind: string}>;
  dataSegments: number;
  dataCount: number | null;
}
export function readWasmSections(bytes: Uint8Array): WasmSections;
export function wasmModuleProblems(bytes: Uint8Array): string[];
