/**
 * Shapes of the Grafana HTTP API client (ObservabilityStack mode `api`). Everything is addressed by uid, which the
 * stack derives deterministically, so a re-apply upserts instead of duplicating.
 */
import type { Dispatcher } from 'undici';

/** A Prometheus datasource as Grafana's datasource API takes it. */
export interface GrafanaDatasourceModel {
  uid: string;
  name: string;
  type: 'prometheus';
  url: string;
  access: 'proxy';
  isDefault: boolean;
  jsonData: Record<string, unknown>;
  basicAuth?: boolean;
  basicAuthUser?: string;
  /** Write-only in Grafana: never returned by its API, so changes are detected through a keyed hash in jsonData. */
  secureJsonData?: Record<string, string>;
}

/** A dashboard JSON model; Grafana's numeric `id` and `version` are ignored if present. */
export type GrafanaDashboardModel = Record<string, unknown> & { uid: string; title: string };

export interface GrafanaFolderModel {
  uid: string;
  title: string;
}

/** What an upsert did: `unchanged` means no write was made. */
export type UpsertOutcome = 'created' | 'updated' | 'unchanged';

/** What a delete did: `absent` means there was nothing with that uid (already deleted, or never created). */
export type DeleteOutcome = 'deleted' | 'absent';

export type GrafanaAuth = { token: string } | { username: string; password: string };

export interface GrafanaApiClientOptions {
  /** Base URL of Grafana, possibly with a sub-path (e.g. `https://example.com/grafana`). No credentials in it. */
  url: string;
  auth: GrafanaAuth;
  /** Sent as `X-Grafana-Org-Id`. Default: the credentials' organization. */
  orgId?: number;
  /** Per request, from connecting to the end of the body. Default 10000. */
  timeoutMs?: number;
  /** undici dispatcher (connection pool, TLS options, proxy). Default: undici's global dispatcher. */
  dispatcher?: Dispatcher;
}

export interface GrafanaApiClient {
  /** Grafana answers, its database is OK and the credentials are accepted (`GET /api/health`, `GET /api/org`). */
  health(): Promise<void>;
  ensureFolder(folder: GrafanaFolderModel): Promise<UpsertOutcome>;
  upsertDatasource(model: GrafanaDatasourceModel): Promise<UpsertOutcome>;
  upsertDashboard(dashboard: GrafanaDashboardModel, folderUid: string): Promise<UpsertOutcome>;
  deleteDatasource(uid: string): Promise<DeleteOutcome>;
  deleteDashboard(uid: string): Promise<DeleteOutcome>;
  /**
   * Deletes the folder only if it is empty: Grafana deletes everything inside a folder with it, including
   * dashboards loadlm did not create. A folder that still holds something is left in place (`notEmpty`), so
   * delete the dashboards first.
   */
  deleteFolder(uid: string): Promise<DeleteOutcome | 'notEmpty'>;
}

export type GrafanaApiErrorReason =
  | 'GrafanaUnreachable'
  | 'GrafanaAuthFailed'
  | 'GrafanaRejected'
  | 'GrafanaServerError';
