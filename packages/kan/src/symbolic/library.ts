/** The symbolic library (pykan's SYMBOLIC_LIB subset): name, function, complexity, and how to print it. */
export interface SymbolicFunction {
  name: string;
  fn: (u: number) => number;
  complexity: number;
  /** Prints f(arg). */
  print: (arg: string) => string;
}

export const SYMBOLIC_LIBRARY: SymbolicFunction[] = [
  {name: 'x', fn: (u) => u, complexity: 1, print: (a) => a},
  {name: 'x^2', fn: (u) => u * u, complexity: 2, print: (a) => `(${a})^2`},
  {name: 'x^3', fn: (u) => u * u * u, complexity: 3, print: (a) => `(${a})^3`},
  {name: 'x^4', fn: (u) => u * u * u * u, complexity: 3, print: (a) => `(${a})^4`},
  {name: '1/x', fn: (u) => 1 / u, complexity: 2, print: (a) => `1/(${a})`},
  {name: 'sqrt', fn: Math.sqrt, complexity: 2, print: (a) => `sqrt(${a})`},
  {name: 'exp', fn: Math.exp, complexity: 2, print: (a) => `exp(${a})`},
  {name: 'log', fn: Math.log, complexity: 2, print: (a) => `log(${a})`},
  {name: 'sin', fn: Math.sin, complexity: 2, print: (a) => `sin(${a})`},
  {name: 'tanh', fn: Math.tanh, complexity: 3, print: (a) => `tanh(${a})`},
  {name: 'abs', fn: Math.abs, complexity: 3, print: (a) => `abs(${a})`},
  {name: 'gaussian', fn: (u) => Math.exp(-u * u), complexity: 3, print: (a) => `exp(-(${a})^2)`},
];
