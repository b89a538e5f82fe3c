/**
 * The built-in Grafana dashboards. The JSON files in the top-level `dashboards/` directory are the single source;
 * this module only loads and checks them. Each dashboard's uid is `loadlm-<id>`, so every provisioning mode
 * (sidecar ConfigMap, GrafanaDashboard, HTTP API) upserts the same dashboard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtInDashboards } from '../../../api/observabilitystack.ts';

export type BuiltInDashboard = (typeof builtInDashboards)[number];

/** A Grafana dashboard JSON model (the fields we rely on are typed; the rest passes through untouched). */
export type GrafanaDashboard = Record<string, unknown> & { uid: string; title: string };

/** Directory holding `<id>.json` for every built-in dashboard. */
export const dashboardsDirectory = join(import.meta.dirname, '..', '..', '..', 'dashboards');

/** The uid a built-in dashboard has in Grafana. */
export function builtInDashboardUid(id: BuiltInDashboard): string {
  return `loadlm-${id}`;
}

const cache = new Map<BuiltInDashboard, GrafanaDashboard>();

/**
 * The parsed dashboard JSON for a built-in id. Read from disk once per process; every call returns a fresh deep
 * copy, so callers may add fields (e.g. a folder or version) without affecting each other.
 */
export function loadBuiltInDashboard(id: BuiltInDashboard): GrafanaDashboard {
  let dashboard = cache.get(id);
  if (dashboard === undefined) {
    if (!(builtInDashboards as readonly string[]).includes(id)) {
      throw new Error(`unknown built-in dashboard "${id}": expected one of ${builtInDashboards.join(', ')}`);
    }
    dashboard = parseDashboard(id, readFileSync(join(dashboardsDirectory, `${id}.json`), 'utf8'));
    cache.set(id, dashboard);
  }
  return structuredClone(dashboard);
}

function parseDashboard(id: BuiltInDashboard, text: string): GrafanaDashboard {
  const file = `dashboards/${id}.json`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}: expected a JSON object (a Grafana dashboard model)`);
  }
  const dashboard = parsed as Record<string, unknown>;
  const uid = builtInDashboardUid(id);
  if (dashboard.uid !== uid) throw new Error(`${file}: expected uid "${uid}", found ${JSON.stringify(dashboard.uid)}`);
  if (typeof dashboard.title !== 'string' || dashboard.title === '') {
    throw new Error(`${file}: expected a non-empty string title`);
  }
  return dashboard as GrafanaDashboard;
}

/** One PromQL query of a dashboard panel. */
export interface DashboardQuery {
  panelId: number;
  panelTitle: string;
  refId: string;
  expr: string;
}

interface PanelModel {
  id?: unknown;
  title?: unknown;
  targets?: Array<{ refId?: unknown; expr?: unknown }>;
  panels?: PanelModel[];
}

/** Every target expression of every panel, including panels nested in collapsed rows, in dashboard order. */
export function dashboardQueries(dashboard: GrafanaDashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (panels: unknown) => {
    if (!Array.isArray(panels)) return;
    for (const panel of panels as PanelModel[]) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr !== 'string') continue;
        queries.push({
          panelId: Number(panel.id),
          panelTitle: String(panel.title ?? ''),
          refId: String(target.refId ?? ''),
          expr: target.expr,
        });
      }
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  return queries;
}
