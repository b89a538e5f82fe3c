/**
 * Pure comparison of what we want in Grafana with what Grafana returned, limited to the fields loadlm owns:
 * server-added fields (id, version, readOnly, orgId, ...) never count as a change, so a no-op reconcile makes no
 * write.
 */
import { createHmac } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { GrafanaDashboardModel, GrafanaDatasourceModel } from './types.ts';

/**
 * jsonData key holding a keyed hash of the datasource's secureJsonData. Grafana never returns secure values, so
 * without it a changed password could not be told apart from an unchanged one. The hash is keyed (HMAC) with a
 * key derived from the Grafana API credentials, so Grafana viewers, who can read jsonData, cannot test guesses of
 * the secret against it.
 */
export const secureHashKey = 'loadlmSecureJsonDataHash';

/** The datasource body loadlm sends on POST and PUT. */
export interface DatasourceBody {
  uid: string;
  name: string;
  type: string;
  url: string;
  access: string;
  isDefault: boolean;
  basicAuth: boolean;
  basicAuthUser: string;
  jsonData: Record<string, unknown>;
  secureJsonData?: Record<string, string>;
}

/** The fields of a datasource Grafana returns that we read (GET /api/datasources/uid/:uid). */
export interface ExistingDatasource {
  uid?: unknown;
  name?: unknown;
  type?: unknown;
  url?: unknown;
  access?: unknown;
  isDefault?: unknown;
  basicAuth?: unknown;
  basicAuthUser?: unknown;
  jsonData?: unknown;
  secureJsonFields?: unknown;
  readOnly?: unknown;
}

/** HMAC-SHA256 of the secure values (sorted by key), hex, truncated to 32 characters. */
export function secureDataHash(secure: Readonly<Record<string, string>>, key: string | Buffer): string {
  const hmac = createHmac('sha256', key);
  for (const name of Object.keys(secure).sort()) {
    hmac.update(`${name.length}:${name}${secure[name]?.length ?? 0}:${secure[name] ?? ''}`);
  }
  return hmac.digest('hex').slice(0, 32);
}

/** JSON round trip: drops undefined values, so a desired object compares like one read back from Grafana. */
export function jsonClone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * The body to send for `model`: defaults filled in as Grafana reports them, and the secure-values hash in jsonData
 * when there are secure values. Secure keys set in Grafana but no longer wanted are cleared (sent empty).
 */
export function datasourceBody(
  model: GrafanaDatasourceModel,
  hashKey: string | Buffer,
  existingSecureFields: readonly string[] = [],
): DatasourceBody {
  const jsonData = jsonClone(model.jsonData);
  delete jsonData[secureHashKey];
  const secure = model.secureJsonData ?? {};
  const hasSecure = Object.keys(secure).length > 0;
  if (hasSecure) jsonData[secureHashKey] = secureDataHash(secure, hashKey);
  const stale = existingSecureFields.filter((name) => !(name in secure));
  const secureJsonData =
    hasSecure || stale.length > 0 ? { ...Object.fromEntries(stale.map((n) => [n, ''])), ...secure } : undefined;
  return {
    uid: model.uid,
    name: model.name,
    type: model.type,
    url: model.url,
    access: model.access,
    isDefault: model.isDefault,
    basicAuth: model.basicAuth ?? false,
    basicAuthUser: model.basicAuthUser ?? '',
    jsonData,
    ...(secureJsonData ? { secureJsonData } : {}),
  };
}

/** The secure keys Grafana reports as set (`secureJsonFields: {key: true}`). */
export function setSecureFields(existing: ExistingDatasource): string[] {
  const fields = existing.secureJsonFields;
  if (typeof fields !== 'object' || fields === null) return [];
  return Object.entries(fields)
    .filter(([, set]) => set === true)
    .map(([name]) => name);
}

/** Names of the owned fields that differ; empty when no write is needed. */
export function datasourceChanges(desired: DatasourceBody, existing: ExistingDatasource): string[] {
  const changes: string[] = [];
  const scalar = ['name', 'type', 'url', 'access', 'isDefault'] as const;
  for (const field of scalar) if (existing[field] !== desired[field]) changes.push(field);
  if ((existing.basicAuth ?? false) !== desired.basicAuth) changes.push('basicAuth');
  if ((existing.basicAuthUser ?? '') !== desired.basicAuthUser) changes.push('basicAuthUser');
  const jsonData = typeof existing.jsonData === 'object' && existing.jsonData !== null ? existing.jsonData : {};
  if (!isDeepStrictEqual(jsonData, desired.jsonData)) changes.push('jsonData');
  // A secure value cleared in Grafana (e.g. through its UI) is re-sent even though the hash still matches.
  const set = new Set(setSecureFields(existing));
  const wanted = Object.entries(desired.secureJsonData ?? {}).filter(([, value]) => value !== '');
  if (wanted.some(([name]) => !set.has(name))) changes.push('secureJsonData');
  return changes;
}

/** Top-level dashboard keys Grafana sets itself. */
const serverDashboardKeys = new Set(['id', 'version']);

/** The dashboard as we send it: without Grafana's numeric id and version. */
export function dashboardBody(dashboard: GrafanaDashboardModel): Record<string, unknown> {
  const body = jsonClone(dashboard) as Record<string, unknown>;
  for (const key of serverDashboardKeys) delete body[key];
  return body;
}

/**
 * Owned dashboard keys (every top-level key we send) that differ, plus `folderUid` when it sits in another
 * folder. `existingFolderUid` is Grafana's meta.folderUid ('' or absent for the General folder).
 */
export function dashboardChanges(
  desired: Record<string, unknown>,
  folderUid: string,
  existing: Record<string, unknown>,
  existingFolderUid: unknown,
): string[] {
  const changes: string[] = [];
  for (const [key, value] of Object.entries(desired)) {
    if (serverDashboardKeys.has(key)) continue;
    if (!isDeepStrictEqual(existing[key], value)) changes.push(key);
  }
  if ((typeof existingFolderUid === 'string' ? existingFolderUid : '') !== folderUid) changes.push('folderUid');
  return changes;
}
