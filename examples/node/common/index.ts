/** Shared helpers of the Node examples: flags, progress bar, PNG plots and image grids, training checkpoints. */
export {FlagError, parseFlags, runExample, usage} from './flags';
export type {FlagSpec, Flags} from './flags';
export {ProgressBar} from './progress';
export {writeLinePlot, writeScatterPlot} from './plot';
export type {PlotOptions, Series} from './plot';
export {writeImageGrid} from './png';
export type {GridOptions} from './png';
export {readModel, TrainingCheckpoint, writeModel} from './checkpoint';
export type {CheckpointContents} from './checkpoint';
export {installSeededMathRandom, SeededRandom, withSeededMathRandom} from './seed';
