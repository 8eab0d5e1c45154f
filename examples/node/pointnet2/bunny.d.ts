/** npm `bunny` (the Stanford bunny mesh) ships no types. */
declare module 'bunny' {
  export const positions: number[][];
  export const cells: number[][];
}
