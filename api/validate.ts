/** Runtime validation with errors that name the field, for the operator, the runner config and tests. */
import type { z } from 'zod';
import { LoadTest, LoadTestSpec } from './loadtest.ts';
import { ObservabilityStack, ObservabilityStackSpec } from './observabilitystack.ts';

/** A schema validation failure; `issues` lists one `path: problem` line per field. */
export class ValidationError extends Error {
  readonly issues: string[];
  constructor(what: string, issues: string[]) {
    super(`invalid ${what}:\n  ${issues.join('\n  ')}`);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** `['spec', 'targets', 0, 'url']` with prefix `''` → `spec.targets[0].url`. */
export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '<root>' : out;
}

/** One line per issue, each starting with the field path. Unknown keys are named individually. */
export function formatIssues(error: z.ZodError, prefix = ''): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...issue.path, key], prefix)}: unknown field`);
      continue;
    }
    if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
      lines.push(`${formatPath(issue.path, prefix)}: required field is missing (expected ${issue.expected})`);
      continue;
    }
    lines.push(`${formatPath(issue.path, prefix)}: ${issue.message}`);
  }
  return lines;
}

/** Parses with `schema` and throws a ValidationError naming every bad field (paths start with `prefix`). */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string, prefix = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(what, formatIssues(result.error, prefix));
  return result.data;
}

export function parseLoadTest(value: unknown): LoadTest {
  return parseOrThrow(LoadTest, value, 'LoadTest');
}

export function parseLoadTestSpec(value: unknown): LoadTestSpec {
  return parseOrThrow(LoadTestSpec, value, 'LoadTest spec', 'spec');
}

export function parseObservabilityStack(value: unknown): ObservabilityStack {
  return parseOrThrow(ObservabilityStack, value, 'ObservabilityStack');
}

export function parseObservabilityStackSpec(value: unknown): ObservabilityStackSpec {
  return parseOrThrow(ObservabilityStackSpec, value, 'ObservabilityStack spec', 'spec');
}
