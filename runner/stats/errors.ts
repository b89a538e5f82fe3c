/** Errors of the stats layer: a snapshot that cannot be trusted, or parts that cannot be merged. */
import { z } from 'zod';

/** A snapshot failed validation; `issues` holds one `field: problem` line per defect. */
export class SnapshotError extends Error {
  readonly issues: string[];
  constructor(what: string, issues: string[]) {
    super(`invalid ${what}: ${issues.join('; ')}`);
    this.name = 'SnapshotError';
    this.issues = issues;
  }
}

/** Two aggregates measured differently (bucket scheme, goodput limits): merging them would mix units. */
export class MergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

/** `['buckets', 'counts', 3]` under prefix `histograms.ttft` → `histograms.ttft.buckets.counts[3]`. */
export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '<root>' : out;
}

export function zodIssues(error: z.ZodError, prefix: string): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${fieldPath(prefix, [...issue.path, key])}: unknown field`);
    } else if (issue.code === 'invalid_key') {
      const why = issue.issues.map((inner) => inner.message).join(', ');
      lines.push(`${fieldPath(prefix, issue.path)}: invalid key (${why})`);
    } else {
      lines.push(`${fieldPath(prefix, issue.path)}: ${issue.message}`);
    }
  }
  return lines;
}

/** A safe integer ≥ min whose errors say what was expected and what came instead. */
export function integerAtLeast(min: number, expected: string) {
  const error = (issue: { input?: unknown }) => {
    if (issue.input === undefined) return `missing (${expected})`;
    const seen = JSON.stringify(issue.input) ?? String(issue.input);
    return `${expected}, got ${seen.length > 40 ? `${seen.slice(0, 40)}…` : seen}`;
  };
  return z.int({ error }).min(min, { error });
}
