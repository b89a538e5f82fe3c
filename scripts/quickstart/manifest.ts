/**
 * examples/quickstart.yaml as the quickstart applies it: the literal file with only its target URLs replaced by
 * the simulator's (the in-cluster Service name of the design documents cannot resolve on this machine). The
 * replacement is textual, so comments and layout stay; the result is checked to differ from the file in the
 * target URLs and nowhere else.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';

export interface QuickstartLoadTest {
  name: string;
  /** The URLs the file targets (in-cluster Service names). */
  urls: string[];
  /** The targets' models, which the simulator must serve. */
  models: string[];
  /** spec.load.durationSeconds (warmup and cooldown included). */
  plannedSeconds: number;
  /** The file's text with every target URL replaced by `url`. */
  pointedAt(url: string): string;
}

interface LoadTestShape {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    targets?: { url?: string; model?: string }[];
    load?: { durationSeconds?: number };
  };
}

export function readQuickstart(fileText: string, file: string): QuickstartLoadTest {
  const original = parse(fileText) as LoadTestShape | null;
  const name = original?.metadata?.name;
  if (original?.kind !== 'LoadTest' || !name) {
    throw new Error(`${file}: expected one LoadTest with metadata.name`);
  }
  if (original.metadata?.namespace) {
    throw new Error(`${file}: metadata.namespace is set; the quickstart applies it to the default namespace`);
  }
  const targets = original.spec?.targets ?? [];
  if (targets.length === 0) throw new Error(`${file}: spec.targets is empty`);
  const urls = targets.map((target, index) => {
    if (!target.url) throw new Error(`${file}: spec.targets[${index}] has no url (a serviceRef cannot reach the sim)`);
    return target.url;
  });
  const models = targets.map((target) => target.model).filter((model): model is string => Boolean(model));

  return {
    name,
    urls: [...new Set(urls)],
    models: [...new Set(models)],
    plannedSeconds: original.spec?.load?.durationSeconds ?? 60,
    pointedAt(url: string): string {
      let text = fileText;
      for (const from of new Set(urls)) text = text.split(from).join(url);
      const expected = structuredClone(original);
      for (const target of expected.spec?.targets ?? []) target.url = url;
      if (!isDeepStrictEqual(parse(text), expected)) {
        throw new Error(`${file}: replacing the target URL changed more than spec.targets[].url`);
      }
      return text;
    },
  };
}
