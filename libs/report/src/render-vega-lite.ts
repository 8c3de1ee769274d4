// Charts are Vega-Lite specs compiled to Vega and rendered to SVG in Node: no canvas, no browser, no
// script in the report. vega and vega-lite are ES modules, so they are loaded with import() from this
// CommonJS build, once.
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };

export type ChartSpec = TopLevelSpec;

type Libraries = { vega: typeof import('vega', { with: { 'resolution-mode': 'import' } }); vegaLite: typeof import('vega-lite', { with: { 'resolution-mode': 'import' } }) };
let libraries: Promise<Libraries> | undefined;

function load(): Promise<Libraries> {
  libraries ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vegaLite]) => ({ vega, vegaLite }));
  return libraries;
}

/** The chart as a standalone <svg> element (headless: the 'none' renderer, then the SVG string renderer). */
export async function renderVegaLite(spec: ChartSpec): Promise<string> {
  const { vega, vegaLite } = await load();
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
