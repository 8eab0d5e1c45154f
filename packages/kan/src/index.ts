/** @tfjs-ext/kan: Kolmogorov-Arnold Networks for TensorFlow.js. */
export {};
