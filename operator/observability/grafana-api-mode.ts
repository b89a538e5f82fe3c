/**
 * Grafana API mode: datasources, the folder and the dashboards are upserted through the Grafana HTTP API by
 * deterministic uid (the client, operator/observability/grafana/, reports `unchanged` without writing), objects
 * no longer desired are deleted, and status.grafanaObjects records what exists in Grafana because of us, so the
 * finalizer can delete exactly that.
 */
import type { GrafanaObject } from '../../api/observabilitystack.ts';
import type { DatasourceModel } from './desired/datasources.ts';
import type { GrafanaContent } from './desired/grafana-content.ts';
import type { GrafanaApiClient, GrafanaAuth } from './grafana/types.ts';

/** The calls this controller makes (operator/observability/grafana/api-client.ts implements them). */
export type GrafanaApi = Pick<
  GrafanaApiClient,
  'ensureFolder' | 'upsertDatasource' | 'upsertDashboard' | 'deleteDatasource' | 'deleteDashboard' | 'deleteFolder'
>;

export type { GrafanaAuth };

export type GrafanaApiFactory = (settings: { url: string; auth: GrafanaAuth; orgId?: number }) => GrafanaApi;

export const grafanaErrorReasons = [
  'GrafanaUnreachable',
  'GrafanaAuthFailed',
  'GrafanaRejected',
  'GrafanaServerError',
] as const;
export type GrafanaErrorReason = (typeof grafanaErrorReasons)[number];

/** The reason of a Grafana client error (GrafanaApiError), or undefined for anything else. */
export function grafanaErrorReason(error: unknown): GrafanaErrorReason | undefined {
  const reason = (error as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' && (grafanaErrorReasons as readonly string[]).includes(reason)
    ? (reason as GrafanaErrorReason)
    : undefined;
}

export interface GrafanaSyncResult {
  /** What exists in Grafana because of us after this pass (also when it failed half-way). */
  objects: GrafanaObject[];
  changed: { created: number; updated: number; deleted: number };
  error?: unknown;
}

const order: Record<GrafanaObject['type'], number> = { datasource: 0, folder: 1, dashboard: 2 };

export function sortGrafanaObjects(objects: Iterable<GrafanaObject>): GrafanaObject[] {
  return [...objects].sort((a, b) => order[a.type] - order[b.type] || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}

const idOf = (object: Pick<GrafanaObject, 'type' | 'uid'>) => `${object.type}/${object.uid}`;

/** Upserts the desired objects and deletes the recorded ones that are no longer desired. */
export async function syncGrafana(
  api: GrafanaApi,
  desired: { datasources: readonly DatasourceModel[]; content: GrafanaContent },
  recorded: readonly GrafanaObject[],
): Promise<GrafanaSyncResult> {
  const objects = new Map(recorded.map((object) => [idOf(object), object]));
  const changed = { created: 0, updated: 0, deleted: 0 };
  const count = (outcome: unknown) => {
    if (outcome === 'created') changed.created++;
    else if (outcome === 'updated') changed.updated++;
  };
  const record = (object: GrafanaObject) => objects.set(idOf(object), object);
  try {
    for (const model of desired.datasources) {
      count(await api.upsertDatasource(model));
      record({ type: 'datasource', uid: model.uid, title: model.name });
    }
    const { folder, dashboards } = desired.content;
    if (dashboards.length > 0) {
      count(await api.ensureFolder(folder));
      record({ type: 'folder', uid: folder.uid, title: folder.title });
      for (const dashboard of dashboards) {
        count(await api.upsertDashboard(dashboard.model, folder.uid));
        record({ type: 'dashboard', uid: dashboard.uid, title: dashboard.title });
      }
    }
    const wanted = new Set([
      ...desired.datasources.map((model) => `datasource/${model.uid}`),
      ...(dashboards.length > 0 ? [`folder/${folder.uid}`] : []),
      ...dashboards.map((dashboard) => `dashboard/${dashboard.uid}`),
    ]);
    const stale = sortGrafanaObjects([...objects.values()].filter((object) => !wanted.has(idOf(object))));
    // Dashboards before their folder (deleting a folder would take anything left in it along).
    for (const object of stale.reverse()) {
      if ((await deleteObject(api, object)) === 'deleted') changed.deleted++;
      objects.delete(idOf(object));
    }
    return { objects: sortGrafanaObjects(objects.values()), changed };
  } catch (error) {
    return { objects: sortGrafanaObjects(objects.values()), changed, error };
  }
}

/** Deletes every recorded object (dashboards, then folders, then datasources); returns what is left. */
export async function deleteGrafanaObjects(
  api: GrafanaApi,
  recorded: readonly GrafanaObject[],
): Promise<{ left: GrafanaObject[]; error?: unknown }> {
  const left = new Map(recorded.map((object) => [idOf(object), object]));
  try {
    for (const object of sortGrafanaObjects(recorded).reverse()) {
      await deleteObject(api, object);
      left.delete(idOf(object));
    }
    return { left: [] };
  } catch (error) {
    return { left: sortGrafanaObjects(left.values()), error };
  }
}

/** A folder that still holds dashboards someone else put there stays (`notEmpty`); it is no longer ours. */
function deleteObject(api: GrafanaApi, object: GrafanaObject): Promise<'deleted' | 'absent' | 'notEmpty'> {
  if (object.type === 'datasource') return api.deleteDatasource(object.uid);
  if (object.type === 'dashboard') return api.deleteDashboard(object.uid);
  return api.deleteFolder(object.uid);
}
