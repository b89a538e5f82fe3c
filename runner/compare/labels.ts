/**
 * `--label` overrides. The i-th `--label` applies to the i-th input (report files in the order given, then
 * LoadTests in the order of their contexts). Its value is `key=value` pairs separated by commas, keys `name`
 * (the column title), `provider`, `cluster`, `region` and `environment`; a value without `=` is the name.
 */
import { badInput } from './errors.ts';
import { type CompareInput, defaultName, uniqueNames } from './input.ts';

export const labelKeys = ['name', 'provider', 'cluster', 'region', 'environment'] as const;
export type LabelKey = (typeof labelKeys)[number];
export type LabelOverride = Partial<Record<LabelKey, string>>;

const hint = "Run 'loadlm compare --help' for the options.";

export function parseLabelOverride(text: string): LabelOverride {
  const where = `--label ${JSON.stringify(text)}`;
  if (!text.includes('=')) {
    if (text.trim() === '') throw badInput(`${where}: expected a name or key=value pairs`, hint);
    return { name: text.trim() };
  }
  const out: LabelOverride = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq === -1 ? part : part.slice(0, eq)).trim();
    const value = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (!(labelKeys as readonly string[]).includes(key)) {
      throw badInput(
        `${where}: unknown key ${JSON.stringify(key)} (expected ${labelKeys.join(', ')}, as key=value pairs separated by commas)`,
        hint,
      );
    }
    if (value === '') throw badInput(`${where}: ${key} has no value (expected ${key}=VALUE)`, hint);
    if (out[key as LabelKey] !== undefined) throw badInput(`${where}: ${key} is given twice`, hint);
    out[key as LabelKey] = value;
  }
  return out;
}

/** Applies overrides in input order, re-derives default titles from changed labels, then makes titles unique. */
export function applyLabelOverrides(inputs: CompareInput[], overrides: LabelOverride[]): void {
  if (overrides.length > inputs.length) {
    throw badInput(
      `--label: given ${overrides.length} times but there are ${inputs.length} input(s); the i-th --label ` +
        'applies to the i-th input (report files first, then LoadTests in context order)',
      hint,
    );
  }
  overrides.forEach((override, i) => {
    const input = inputs[i] as CompareInput;
    const { name, ...labels } = override;
    const hadDefaultName = input.name === defaultName(input.labels, input.sourceShort);
    input.labels = { ...input.labels, ...labels };
    if (name !== undefined) input.name = name;
    else if (hadDefaultName) input.name = defaultName(input.labels, input.sourceShort);
  });
  uniqueNames(inputs);
}
