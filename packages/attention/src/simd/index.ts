/** SIMD WebAssembly host kernels. Filled in by the SIMD work; until then only the JS host kernels exist. */
export {};
