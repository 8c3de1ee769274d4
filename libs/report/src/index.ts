export { buildRunReport, type BuildRunReportOptions } from './build-run-report';
export { renderRunReport, type RunReportInput, type SampleOverlay } from './run-report';
export { renderExperimentTable, type ExperimentTable, type ExperimentRow, type ExperimentColumn, type ExperimentValue } from './experiment-table';
export { loadPseudoLabelSamples, sampleFromRecord, type PseudoLabelSample, type SampleGroup, type LoadSamplesOptions } from './pseudo-label-samples';
export { renderMetricsTable, metricsRows, isFinished, METRICS_HEADER } from './metrics-table';
export { renderVegaLite, type ChartSpec } from './render-vega-lite';
export { trainingCurveSpec, confidenceHistogramSpec, classAcceptanceSpec, type CurveMetric } from './run-charts';
export { escapeHtml } from './html-escape';
export {
  sampleGridPng, drawSampleGrid, sampleGridLayout, tileOrigin, renderSampleTile, boxColour, maskColour, ignoreHatch,
  GRID_PAD, TILE_BORDER, LEGEND_ROW, type SampleGridOptions, type SampleGridLayout,
} from './sample-grid-png';
export { buildSampleGrid, type BuildSampleGridOptions, type SampleGrid } from './build-sample-grid';
export { type RgbaCanvas, type Rgb } from './rgba-canvas';
