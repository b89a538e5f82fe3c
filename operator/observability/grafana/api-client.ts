/**
 * Grafana HTTP API client for ObservabilityStack mode `api`: upsert and delete by uid. An upsert reads the object
 * first and writes only when a field loadlm owns differs, so a no-op reconcile makes no write. Calls follow
 * Grafana's documented HTTP API (folders, datasources, dashboards, health); see README.md for the versions.
 */
import { createHash } from 'node:crypto';
import {
  type DatasourceBody,
  dashboardBody,
  dashboardChanges,
  datasourceBody,
  datasourceChanges,
  type ExistingDatasource,
  setSecureFields,
} from './diff.ts';
import { GrafanaApiError } from './errors.ts';
import { createGrafanaHttp, type GrafanaHttp } from './http.ts';
import type {
  DeleteOutcome,
  GrafanaApiClient,
  GrafanaApiClientOptions,
  GrafanaAuth,
  GrafanaDashboardModel,
  GrafanaDatasourceModel,
  GrafanaFolderModel,
  UpsertOutcome,
} from './types.ts';

export { GrafanaApiError, isGrafanaApiError } from './errors.ts';
export type * from './types.ts';

export function createGrafanaApiClient(options: GrafanaApiClientOptions): GrafanaApiClient {
  const http = createGrafanaHttp(options);
  const hashKey = secureHashKeyFor(options.auth);
  return {
    health: () => health(http),
    ensureFolder: (folder) => ensureFolder(http, folder),
    upsertDatasource: (model) => {
      http.addSecrets(Object.values(model.secureJsonData ?? {}));
      return upsertDatasource(http, model, hashKey);
    },
    upsertDashboard: (dashboard, folderUid) => upsertDashboard(http, dashboard, folderUid),
    deleteDatasource: (uid) => deleteByUid(http, `/api/datasources/uid/${encodeURIComponent(uid)}`),
    deleteDashboard: (uid) => deleteByUid(http, `/api/dashboards/uid/${encodeURIComponent(uid)}`),
    deleteFolder: (uid) => deleteFolder(http, uid),
  };
}

/** The HMAC key for secure-value hashes: derived from the API credentials, which Grafana viewers do not know. */
function secureHashKeyFor(auth: GrafanaAuth): Buffer {
  const material = 'token' in auth ? `token\0${auth.token}` : `basic\0${auth.username}\0${auth.password}`;
  return createHash('sha256').update(`loadlm-grafana-secure-hash\0${material}`).digest();
}

async function health(http: GrafanaHttp): Promise<void> {
  const answer = await http.call('GET', '/api/health');
  const database = field(answer.body, 'database');
  if (answer.status === 404 || (database !== undefined && database !== 'ok')) {
    throw new GrafanaApiError(
      answer.status === 404 ? 'GrafanaRejected' : 'GrafanaServerError',
      answer.status === 404
        ? `${http.displayUrl} has no /api/health (HTTP 404); is this the base URL of Grafana?`
        : `Grafana at ${http.displayUrl} reports its database as ${JSON.stringify(database)}`,
      answer.status,
    );
  }
  // /api/health needs no credentials; the current organization does, and honours X-Grafana-Org-Id.
  const org = await http.call('GET', '/api/org');
  if (org.status !== 200) throw unexpected(http, 'GET /api/org', org.status, org.body);
}

async function ensureFolder(http: GrafanaHttp, folder: GrafanaFolderModel): Promise<UpsertOutcome> {
  const path = `/api/folders/${encodeURIComponent(folder.uid)}`;
  const existing = await http.call('GET', path);
  if (existing.status === 404) {
    const created = await http.call('POST', '/api/folders', { uid: folder.uid, title: folder.title });
    if (created.status === 409) {
      throw new GrafanaApiError(
        'GrafanaRejected',
        `Grafana at ${http.displayUrl} refused to create folder "${folder.title}" (uid ${folder.uid}, HTTP 409): ` +
          `${http.grafanaMessage(created.body) || 'conflict'}; a folder with that title or uid may already exist`,
        409,
      );
    }
    if (created.status !== 200) throw unexpected(http, 'POST /api/folders', created.status, created.body);
    return 'created';
  }
  if (existing.status !== 200) throw unexpected(http, `GET ${path}`, existing.status, existing.body);
  if (field(existing.body, 'title') === folder.title) return 'unchanged';
  const updated = await http.call('PUT', path, {
    title: folder.title,
    version: field(existing.body, 'version'),
    overwrite: true,
  });
  if (updated.status !== 200) throw unexpected(http, `PUT ${path}`, updated.status, updated.body);
  return 'updated';
}

async function upsertDatasource(
  http: GrafanaHttp,
  model: GrafanaDatasourceModel,
  hashKey: Buffer,
): Promise<UpsertOutcome> {
  const path = `/api/datasources/uid/${encodeURIComponent(model.uid)}`;
  const existing = await http.call('GET', path);
  if (existing.status === 404) {
    const body = datasourceBody(model, hashKey);
    const created = await http.call('POST', '/api/datasources', body);
    if (created.status === 409) throw await datasourceConflict(http, body, created.body);
    if (created.status !== 200) throw unexpected(http, 'POST /api/datasources', created.status, created.body);
    return 'created';
  }
  if (existing.status !== 200) throw unexpected(http, `GET ${path}`, existing.status, existing.body);
  const current = (existing.body ?? {}) as ExistingDatasource;
  const body = datasourceBody(model, hashKey, setSecureFields(current));
  if (datasourceChanges(body, current).length === 0) return 'unchanged';
  if (current.readOnly === true) {
    throw new GrafanaApiError(
      'GrafanaRejected',
      `Grafana at ${http.displayUrl} holds datasource uid ${model.uid} as read-only (provisioned from a file); ` +
        'remove it from Grafana provisioning or choose another uid',
    );
  }
  const updated = await http.call('PUT', path, body);
  if (updated.status === 409) throw await datasourceConflict(http, body, updated.body);
  if (updated.status !== 200) throw unexpected(http, `PUT ${path}`, updated.status, updated.body);
  return 'updated';
}

/** A 409 on a datasource write: usually its name is taken by a datasource with another uid. */
async function datasourceConflict(http: GrafanaHttp, body: DatasourceBody, answer: unknown): Promise<GrafanaApiError> {
  const said = http.grafanaMessage(answer) || 'conflict';
  const holder = await http
    .call('GET', `/api/datasources/name/${encodeURIComponent(body.name)}`)
    .catch(() => undefined);
  const holderUid = holder?.status === 200 ? field(holder.body, 'uid') : undefined;
  const detail =
    typeof holderUid === 'string' && holderUid !== body.uid
      ? `the name "${body.name}" is taken by the datasource with uid ${holderUid}; rename one of them or delete that one`
      : `another datasource may use the name "${body.name}" or the uid ${body.uid}`;
  return new GrafanaApiError(
    'GrafanaRejected',
    `Grafana at ${http.displayUrl} refused datasource "${body.name}" (uid ${body.uid}, HTTP 409: ${said}): ${detail}`,
    409,
  );
}

async function upsertDashboard(
  http: GrafanaHttp,
  dashboard: GrafanaDashboardModel,
  folderUid: string,
): Promise<UpsertOutcome> {
  const path = `/api/dashboards/uid/${encodeURIComponent(dashboard.uid)}`;
  const desired = dashboardBody(dashboard);
  const existing = await http.call('GET', path);
  let outcome: UpsertOutcome = 'created';
  if (existing.status === 200) {
    const current = field(existing.body, 'dashboard');
    const meta = field(existing.body, 'meta');
    const changes = dashboardChanges(desired, folderUid, isRecord(current) ? current : {}, field(meta, 'folderUid'));
    if (changes.length === 0) return 'unchanged';
    outcome = 'updated';
  } else if (existing.status !== 404) {
    throw unexpected(http, `GET ${path}`, existing.status, existing.body);
  }
  // overwrite: loadlm owns this uid, so a version mismatch (someone edited it in the UI) is overwritten.
  const saved = await http.call('POST', '/api/dashboards/db', {
    dashboard: { ...desired, id: null },
    folderUid,
    overwrite: true,
    message: 'Provisioned by loadlm (ObservabilityStack)',
  });
  if (saved.status === 412 || saved.status === 409) {
    const status = field(saved.body, 'status');
    throw new GrafanaApiError(
      'GrafanaRejected',
      `Grafana at ${http.displayUrl} refused dashboard "${dashboard.title}" (uid ${dashboard.uid}, HTTP ${saved.status}` +
        `${typeof status === 'string' ? ` ${status}` : ''}): ${http.grafanaMessage(saved.body) || 'conflict'}`,
      saved.status,
    );
  }
  if (saved.status !== 200) throw unexpected(http, 'POST /api/dashboards/db', saved.status, saved.body);
  return outcome;
}

async function deleteByUid(http: GrafanaHttp, path: string): Promise<DeleteOutcome> {
  const answer = await http.call('DELETE', path);
  if (answer.status === 404) return 'absent';
  if (answer.status !== 200) throw unexpected(http, `DELETE ${path}`, answer.status, answer.body);
  return 'deleted';
}

async function deleteFolder(http: GrafanaHttp, uid: string): Promise<DeleteOutcome | 'notEmpty'> {
  const path = `/api/folders/${encodeURIComponent(uid)}`;
  const existing = await http.call('GET', path);
  if (existing.status === 404) return 'absent';
  if (existing.status !== 200) throw unexpected(http, `GET ${path}`, existing.status, existing.body);
  // Deleting a folder deletes what is inside it; someone else's dashboards or subfolders must survive.
  // Hits are filtered by folderUid too: Grafana before 10 ignores the folderUIDs parameter and returns everything.
  const inside = await http.call('GET', `/api/search?folderUIDs=${encodeURIComponent(uid)}&limit=5000`);
  if (inside.status !== 200) throw unexpected(http, 'GET /api/search', inside.status, inside.body);
  const hits = Array.isArray(inside.body) ? inside.body : [];
  if (hits.some((hit) => field(hit, 'folderUid') === uid)) return 'notEmpty';
  return deleteByUid(http, path);
}

function unexpected(http: GrafanaHttp, what: string, status: number, body: unknown): GrafanaApiError {
  const said = http.grafanaMessage(body);
  return new GrafanaApiError(
    'GrafanaRejected',
    `Grafana at ${http.displayUrl} answered ${what} with HTTP ${status}${said ? `: ${said}` : ''}`,
    status,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, name: string): unknown {
  return isRecord(value) ? value[name] : undefined;
}
