/**
 * Bytes of a saved report → a JSON value. Accepts what people naturally save: the report JSON
 * (`loadlm run --report`, or `kubectl get cm <lt>-report -o jsonpath='{.data.report\.json}'`), the
 * ConfigMap or LoadTest as `kubectl get -o json|yaml` prints it, and gzipped forms of any of these.
 */
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { badInput } from './errors.ts';

const gzipMagic = [0x1f, 0x8b];

export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === gzipMagic[0] && bytes[1] === gzipMagic[1];
}

/** Parses JSON, else YAML (a JSON document is also YAML, but JSON.parse is faster and its errors clearer). */
export function decodeDocument(bytes: Uint8Array, where: string): unknown {
  let data = bytes;
  if (isGzip(data)) {
    try {
      data = gunzipSync(data);
    } catch (error) {
      throw badInput(`${where}: looks gzipped but does not decompress: ${(error as Error).message}`);
    }
  }
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  if (text.trim() === '') throw badInput(`${where}: is empty (expected a loadlm report as JSON or YAML)`);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw badInput(`${where}: not valid JSON (expected a loadlm report): ${(error as Error).message}`);
    }
  }
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    const first = (error as Error).message.split('\n')[0];
    throw badInput(`${where}: neither JSON nor YAML (expected a loadlm report): ${first}`);
  }
}

/** A base64 value of a ConfigMap's binaryData (the operator gzips reports above ~900 KiB). */
export function decodeBinaryData(base64: string, where: string): unknown {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw badInput(`${where}: is empty`);
  return decodeDocument(bytes, where);
}
