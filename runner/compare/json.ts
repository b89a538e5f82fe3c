/** `--format json`: the comparison for machines. Latencies in seconds; unmeasured values are null. */
import { finiteOrNull } from '../report/format.ts';
import type { Comparison } from './comparison.ts';
import type { InputMetrics } from './input.ts';

export const comparisonKind = 'LoadTestComparison';

export interface ComparisonDocument {
  apiVersion: 'loadlm.dev/v1alpha1';
  kind: typeof comparisonKind;
  generatedAt: string;
  inputs: Array<{
    name: string;
    source: string;
    kind: string;
    labels: Record<string, string>;
    outcome?: string;
    warnings: string[];
    metrics: InputMetrics;
    steps: Array<{ step: number; label: string; targetRate?: number; metrics: InputMetrics }>;
  }>;
  rows: Array<{
    id: string;
    label: string;
    unit: string;
    better: string | null;
    values: Array<number | null>;
    display: string[];
    /** Names of the inputs with the best value. */
    best: string[];
  }>;
  notes: string[];
}

export function comparisonDocument(c: Comparison, generatedAt: Date): ComparisonDocument {
  return {
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: comparisonKind,
    generatedAt: generatedAt.toISOString(),
    inputs: c.inputs.map((i) => ({
      name: i.name,
      source: i.source,
      kind: i.kind,
      labels: Object.fromEntries(Object.entries(i.labels).filter(([, v]) => v !== undefined)) as Record<string, string>,
      ...(i.outcome ? { outcome: i.outcome } : {}),
      warnings: i.warnings,
      metrics: i.metrics,
      steps: i.steps.map((s) => ({
        step: s.step,
        label: s.label,
        ...(s.targetRate !== undefined ? { targetRate: s.targetRate } : {}),
        metrics: s.metrics,
      })),
    })),
    rows: c.rows.map((r) => ({
      id: r.id,
      label: r.label,
      unit: r.unit,
      better: r.better,
      values: r.values.map((v) => (Number.isFinite(v) ? v : null)),
      display: r.display,
      best: c.inputs.filter((_, i) => r.best[i]).map((i) => i.name),
    })),
    notes: c.notes,
  };
}

export function renderJson(c: Comparison, generatedAt: Date): string {
  return `${JSON.stringify(comparisonDocument(c, generatedAt), finiteOrNull, 2)}\n`;
}
