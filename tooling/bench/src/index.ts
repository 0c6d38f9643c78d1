import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** One measured figure; `baseline` and `ratio` when it was measured beside a baseline in the same run. */
export interface BenchFigure {
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  note?: string;
}

/** The repository root: the nearest folder upwards whose package.json declares workspaces. */
export function repositoryRoot(from: string = process.cwd()): string {
  let folder = from;
  for (;;) {
    const manifest = join(folder, 'package.json');
    if (existsSync(manifest) && 'workspaces' in JSON.parse(readFileSync(manifest, 'utf8'))) return folder;
    const parent = dirname(folder);
    if (parent === folder) throw new Error('no workspace root above ' + from);
    folder = parent;
  }
}

/** A figure measured against a baseline: `ratio` is value / baseline (higher is better for rates). */
export function compared(value: number, baseline: number, unit: string, note?: string): BenchFigure {
  const figure: BenchFigure = { value: round(value), unit, baseline: round(baseline), ratio: round(value / baseline, 3) };
  if (note) figure.note = note;
  return figure;
}

/** Merges figures into `bench-results.json` at the repository root, one key per figure. */
export function recordBenchResults(figures: Record<string, BenchFigure>): void {
  const file = join(repositoryRoot(), 'bench-results.json');
  const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, BenchFigure>) : {};
  const merged = { ...current, ...figures };
  const sorted = Object.fromEntries(Object.keys(merged).sort().map((key) => [key, merged[key]]));
  writeFileSync(file, JSON.stringify(sorted, null, 2) + '\n');
  for (const [key, figure] of Object.entries(figures)) {
    const against = figure.baseline === undefined ? '' : `  (baseline ${figure.baseline}, ratio ${figure.ratio})`;
    console.log(`${key.padEnd(36)} ${String(figure.value).padStart(12)} ${figure.unit}${against}`);
  }
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
