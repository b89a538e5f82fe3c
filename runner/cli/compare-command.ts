/**
 * `loadlm compare`: runs side by side (the design documents' "offline comparison"). Inputs are report files
 * and/or LoadTests read from kube contexts; output is a table (text, Markdown or JSON) and optionally a
 * self-contained HTML report with plots. See runner/compare/README.md.
 */
import { writeFile } from 'node:fs/promises';
import { collectInputs } from '../compare/collect.ts';
import { buildComparison } from '../compare/comparison.ts';
import { CompareError } from '../compare/errors.ts';
import type { LoadTestQuery } from '../compare/kube.ts';
import { type LabelOverride, parseLabelOverride } from '../compare/labels.ts';
import { renderTable, type TableStyle } from '../compare/table.ts';
import { type CommandSpec, parseFlags, renderHelp } from './args.ts';
import { UsageError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import { parseDurationFlag } from './values.ts';

const hint = "Run 'loadlm compare --help' for the options.";
const formats = ['table', 'json', 'markdown'] as const;
const colors = ['auto', 'always', 'never'] as const;
export const compareDefaults = { format: 'table', color: 'auto', title: 'loadlm comparison', requestTimeout: '30s' };

export const compareCommand: CommandSpec = {
  usage: 'loadlm compare',
  summary:
    'Compare load-test results side by side: TTFT/TPOT/ITL/E2E percentiles, req/s, output tok/s, errors and ' +
    'goodput per provider, cluster and region, with the best value of each row marked. Inputs are report ' +
    "files given as arguments (loadlm compare REPORT...: 'loadlm run --report' files, a LoadTest's " +
    '<name>-report ConfigMap or its report.json, as JSON or YAML, gzipped or not) and/or LoadTests read from ' +
    'kube contexts.',
  flags: [
    {
      group: 'LoadTests in clusters',
      name: 'context',
      kind: 'list',
      value: 'CONTEXT',
      description:
        'Read a LoadTest from this kubeconfig context; repeat once per provider or cluster (one LoadTest each).',
      defaultText: 'the current context when only --loadtest is given',
    },
    {
      group: 'LoadTests in clusters',
      name: 'loadtest',
      kind: 'list',
      value: 'NAME',
      description:
        'The LoadTest to read: one name for every --context, or one per --context in the same order. It must be ' +
        'finished (phase Succeeded, ThresholdsBreached or Failed).',
      defaultText: 'none: no LoadTests are read',
    },
    {
      group: 'LoadTests in clusters',
      name: 'namespace',
      short: 'n',
      kind: 'list',
      value: 'NAMESPACE',
      description: 'Namespace of the LoadTests: one for all, or one per --context in order.',
      defaultText: "the context's namespace, else default",
    },
    {
      group: 'LoadTests in clusters',
      name: 'kubeconfig',
      kind: 'string',
      value: 'FILE',
      description: 'The kubeconfig holding the contexts.',
      defaultText: '$KUBECONFIG, else ~/.kube/config',
    },
    {
      group: 'LoadTests in clusters',
      name: 'request-timeout',
      kind: 'string',
      value: 'DURATION',
      description: 'Give up on an API server that does not answer within this.',
      defaultText: compareDefaults.requestTimeout,
    },
    {
      group: 'Columns',
      name: 'label',
      kind: 'list',
      value: 'KEY=VALUE,...',
      description:
        'Override the labels of an input: the i-th --label applies to the i-th input (report files first, then ' +
        'LoadTests in --context order). Keys: name (the column title), provider, cluster, region, environment; ' +
        'a value without = is the name.',
      defaultText: "the report's provider/cluster/region/environment labels",
    },
    {
      group: 'Columns',
      name: 'per-target',
      kind: 'boolean',
      description: 'One column per target of a multi-target report, instead of one per report.',
      defaultText: 'off',
    },
    {
      group: 'Output',
      name: 'format',
      short: 'f',
      kind: 'string',
      value: formats.join('|'),
      description: 'How the comparison is printed on stdout.',
      defaultText: compareDefaults.format,
    },
    {
      group: 'Output',
      name: 'html',
      kind: 'string',
      value: 'FILE',
      description:
        'Also write a self-contained HTML report (no external resources): the table, latency CDFs and ' +
        'throughput-vs-latency over sweep steps.',
      defaultText: 'none',
    },
    {
      group: 'Output',
      name: 'title',
      kind: 'string',
      value: 'TEXT',
      description: 'Title of the HTML report.',
      defaultText: compareDefaults.title,
    },
    {
      group: 'Output',
      name: 'color',
      kind: 'string',
      value: colors.join('|'),
      description: 'Colour the best values in the table; auto: when stdout is a terminal and NO_COLOR is unset.',
      defaultText: compareDefaults.color,
    },
    { group: 'Output', name: 'help', short: 'h', kind: 'boolean', description: 'Show this help.' },
  ],
  epilog: `Examples:
  loadlm compare aws.json gcp.json akamai.json
  loadlm compare --context prod-aws --context prod-gcp --loadtest nightly -n bench --html compare.html
  kubectl get cm nightly-report -n bench -o yaml > lke.yaml && loadlm compare lke.yaml aws.json --label AKAMAI

Exit codes: 0 compared; 2 usage error or bad input (file missing or not a loadlm report, unknown context,
LoadTest not found, no inputs); 3 a source could not be used (API server unreachable or refusing, LoadTest not
finished, no report and no status summary).`,
};

function list(values: Record<string, unknown>, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? (v as string[]) : [];
}

function pick<T extends string>(flag: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value as string)) return value as T;
  throw new UsageError(`--${flag}: expected one of ${allowed.join(', ')}, got "${String(value)}"`, hint);
}

/** --context/--loadtest/--namespace → one query per LoadTest. */
export function loadTestQueries(contexts: string[], names: string[], namespaces: string[]): LoadTestQuery[] {
  if (contexts.length > 0 && names.length === 0) {
    throw new UsageError('--context: needs --loadtest NAME (the LoadTest to read in each context)', hint);
  }
  let queries: LoadTestQuery[];
  if (contexts.length === 0) {
    queries = names.map((name) => ({ name }));
  } else if (names.length === 1 || names.length === contexts.length) {
    queries = contexts.map((context, i) => ({ context, name: (names.length === 1 ? names[0] : names[i]) as string }));
  } else {
    throw new UsageError(
      `--loadtest: given ${names.length} times for ${contexts.length} contexts (expected one name for all, or one per --context)`,
      hint,
    );
  }
  if (namespaces.length > 0) {
    if (names.length === 0) throw new UsageError('--namespace: only applies to --loadtest', hint);
    if (namespaces.length !== 1 && namespaces.length !== queries.length) {
      throw new UsageError(
        `--namespace: given ${namespaces.length} times for ${queries.length} LoadTests (expected one for all, or one per LoadTest)`,
        hint,
      );
    }
    queries = queries.map((q, i) => ({
      ...q,
      namespace: (namespaces.length === 1 ? namespaces[0] : namespaces[i]) as string,
    }));
  }
  return queries;
}

export async function compareCommandMain(argv: string[]): Promise<number> {
  const parsed = parseFlags(compareCommand, argv, true);
  const v = parsed.values;
  if (v.help === true) {
    process.stdout.write(renderHelp(compareCommand));
    return ExitCode.Success;
  }
  const format = pick('format', v.format, formats, 'table');
  const color = pick('color', v.color, colors, 'auto');
  const timeoutText = typeof v['request-timeout'] === 'string' ? v['request-timeout'] : compareDefaults.requestTimeout;
  let requestTimeoutMs: number;
  try {
    requestTimeoutMs = parseDurationFlag('request-timeout', timeoutText, { allowZero: false }) * 1000;
  } catch (error) {
    // values.ts hints at 'loadlm run --help'; point at this command instead.
    throw new UsageError((error as Error).message, hint);
  }
  const labels: LabelOverride[] = [];
  const queries = loadTestQueries(list(v, 'context'), list(v, 'loadtest'), list(v, 'namespace'));
  const html = typeof v.html === 'string' ? v.html : undefined;
  const title = typeof v.title === 'string' ? v.title : compareDefaults.title;
  try {
    for (const text of list(v, 'label')) labels.push(parseLabelOverride(text));
    const inputs = await collectInputs({
      files: parsed.positionals,
      loadTests: queries,
      kube: {
        requestTimeoutMs,
        ...(typeof v.kubeconfig === 'string' ? { kubeconfig: v.kubeconfig } : {}),
      },
      perTarget: v['per-target'] === true,
      labels,
    });
    const comparison = buildComparison(inputs);
    const now = new Date();
    if (format === 'json') {
      const { renderJson } = await import('../compare/json.ts');
      process.stdout.write(renderJson(comparison, now));
    } else {
      const ansi = color === 'always' || (color === 'auto' && process.stdout.isTTY === true && !process.env.NO_COLOR);
      const style: TableStyle = format === 'markdown' ? 'markdown' : ansi ? 'ansi' : 'plain';
      process.stdout.write(renderTable(comparison, style));
    }
    if (html !== undefined) {
      const { renderHtml } = await import('../compare/html.ts');
      try {
        await writeFile(html, renderHtml(comparison, { title, generatedAt: now }));
      } catch (error) {
        throw new UsageError(`--html ${html}: cannot write: ${(error as Error).message}`, hint);
      }
      process.stderr.write(`loadlm compare: wrote ${html}\n`);
    }
    return ExitCode.Success;
  } catch (error) {
    if (!(error instanceof CompareError)) throw error;
    process.stderr.write(`loadlm compare: ${error.message}\n${error.hint ? `${error.hint}\n` : ''}`);
    return error.exitCode;
  }
}
