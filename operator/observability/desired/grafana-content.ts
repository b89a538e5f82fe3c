/**
 * The dashboards a stack installs (spec.grafana.dashboards) as Grafana JSON models with their folder, the same
 * for every Grafana mode.
 */
import type { ObservabilityStack } from '../../../api/observabilitystack.ts';
import { type BuiltInDashboard, type GrafanaDashboard, loadBuiltInDashboard } from './dashboards.ts';
import { kubeNamePart, shortHash } from './names.ts';

export interface DashboardPlan {
  /** The built-in id, e.g. `vllm` (names the Kubernetes object). */
  id: BuiltInDashboard;
  uid: string;
  title: string;
  model: GrafanaDashboard;
}

export interface GrafanaContent {
  folder: { uid: string; title: string };
  dashboards: DashboardPlan[];
}

/** The folder's uid in Grafana (mode api): derived from its title, so a renamed folder is a new folder. */
export function folderUid(title: string): string {
  const slug = kubeNamePart(title);
  const uid = `loadlm-${slug}`;
  return uid.length <= 40 ? uid : `loadlm-${slug.slice(0, 24)}-${shortHash(title)}`;
}

export function planGrafanaContent(stack: ObservabilityStack): GrafanaContent {
  const settings = stack.spec.grafana?.dashboards;
  const title = settings?.folder ?? 'LoadLM';
  const ids = settings?.builtIn ?? [];
  return {
    folder: { uid: folderUid(title), title },
    dashboards: ids.map((id) => {
      // Grafana assigns numeric ids per instance: a provisioned model must not carry one.
      const { id: _numericId, ...model } = loadBuiltInDashboard(id);
      const dashboard = model as GrafanaDashboard;
      return { id, uid: dashboard.uid, title: dashboard.title, model: dashboard };
    }),
  };
}
