/** Gathers every input of a comparison: report files first (in the order given), then LoadTests. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { decodeDocument } from './decode.ts';
import { badInput } from './errors.ts';
import type { CompareInput } from './input.ts';
import type { KubeOptions, LoadTestQuery } from './kube.ts';
import { applyLabelOverrides, type LabelOverride } from './labels.ts';
import { inputsFromDocument, type NormaliseOptions } from './report-input.ts';

export interface CollectRequest {
  files: string[];
  loadTests: LoadTestQuery[];
  kube: Omit<KubeOptions, keyof NormaliseOptions>;
  perTarget: boolean;
  labels: LabelOverride[];
}

export async function readReportFile(path: string, options: NormaliseOptions): Promise<CompareInput[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw badInput(`${path}: report file not found`);
    if (code === 'EISDIR') throw badInput(`${path}: is a directory (expected a report file)`);
    if (code === 'EACCES') throw badInput(`${path}: permission denied`);
    throw badInput(`${path}: cannot read: ${(error as Error).message}`);
  }
  return inputsFromDocument(decodeDocument(bytes, path), { source: path, sourceShort: basename(path) }, options);
}

export async function collectInputs(request: CollectRequest): Promise<CompareInput[]> {
  if (request.files.length === 0 && request.loadTests.length === 0) {
    throw badInput(
      'nothing to compare: give report files (loadlm compare a.json b.json) or LoadTests ' +
        '(--context CTX --loadtest NAME)',
      "Run 'loadlm compare --help' for the options.",
    );
  }
  const options: NormaliseOptions = { perTarget: request.perTarget };
  const inputs: CompareInput[] = [];
  for (const file of request.files) inputs.push(...(await readReportFile(file, options)));
  if (request.loadTests.length > 0) {
    const { readLoadTestInputs } = await import('./kube.ts');
    inputs.push(...(await readLoadTestInputs(request.loadTests, { ...request.kube, ...options })));
  }
  applyLabelOverrides(inputs, request.labels);
  return inputs;
}
