/** The API-mode sync plan (what to upsert, what to delete, what to record) against an in-memory GrafanaApi. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GrafanaObject } from '../../../api/observabilitystack.ts';
import type { DatasourceModel, GrafanaContent } from '../../../operator/observability/desired/index.ts';
import { GrafanaApiError } from '../../../operator/observability/grafana/errors.ts';
import {
  deleteGrafanaObjects,
  type GrafanaApi,
  grafanaErrorReason,
  syncGrafana,
} from '../../../operator/observability/grafana-api-mode.ts';

function memoryGrafana(failOn?: string) {
  const objects = new Set<string>();
  const calls: string[] = [];
  const call = (what: string) => {
    calls.push(what);
    if (what === failOn) throw new GrafanaApiError('GrafanaUnreachable', 'connection refused');
  };
  const upsert = (id: string) => {
    call(`upsert ${id}`);
    const existed = objects.has(id);
    objects.add(id);
    return Promise.resolve(existed ? ('unchanged' as const) : ('created' as const));
  };
  const remove = (id: string) => {
    call(`delete ${id}`);
    return Promise.resolve(objects.delete(id) ? ('deleted' as const) : ('absent' as const));
  };
  const api: GrafanaApi = {
    ensureFolder: (folder) => upsert(`folder/${folder.uid}`),
    upsertDatasource: (model) => upsert(`datasource/${model.uid}`),
    upsertDashboard: (dashboard) => upsert(`dashboard/${dashboard.uid}`),
    deleteDatasource: (uid) => remove(`datasource/${uid}`),
    deleteDashboard: (uid) => remove(`dashboard/${uid}`),
    deleteFolder: (uid) => remove(`folder/${uid}`),
  };
  return { api, objects, calls };
}

const datasource = (uid: string): DatasourceModel => ({
  uid,
  name: uid,
  type: 'prometheus',
  url: 'http://p',
  access: 'proxy',
  isDefault: false,
  jsonData: {},
});
const content = (...uids: string[]): GrafanaContent => ({
  folder: { uid: 'loadlm-f', title: 'F' },
  dashboards: uids.map((uid) => ({ id: 'vllm', uid, title: uid, model: { uid, title: uid } })),
});
const ids = (objects: readonly GrafanaObject[]) => objects.map((object) => `${object.type}/${object.uid}`);

describe('Grafana API mode sync', () => {
  it('upserts everything, records it, and counts only real changes', async () => {
    const grafana = memoryGrafana();
    const first = await syncGrafana(grafana.api, { datasources: [datasource('a')], content: content('d1') }, []);
    assert.deepEqual(ids(first.objects), ['datasource/a', 'folder/loadlm-f', 'dashboard/d1']);
    assert.deepEqual(first.changed, { created: 3, updated: 0, deleted: 0 });
    const again = await syncGrafana(
      grafana.api,
      { datasources: [datasource('a')], content: content('d1') },
      first.objects,
    );
    assert.deepEqual(again.changed, { created: 0, updated: 0, deleted: 0 });
  });

  it('deletes recorded objects that are no longer desired, dashboards before their folder', async () => {
    const grafana = memoryGrafana();
    const first = await syncGrafana(
      grafana.api,
      { datasources: [datasource('a'), datasource('b')], content: content('d1') },
      [],
    );
    grafana.calls.length = 0;
    const second = await syncGrafana(
      grafana.api,
      { datasources: [datasource('a')], content: content() },
      first.objects,
    );
    assert.deepEqual(ids(second.objects), ['datasource/a']);
    assert.deepEqual(
      grafana.calls.filter((call) => call.startsWith('delete')),
      ['delete dashboard/d1', 'delete folder/loadlm-f', 'delete datasource/b'],
    );
  });

  it('keeps what was recorded and created so far when a call fails, with the reason', async () => {
    const grafana = memoryGrafana('upsert dashboard/d1');
    const result = await syncGrafana(grafana.api, { datasources: [datasource('a')], content: content('d1') }, [
      { type: 'dashboard', uid: 'old' },
    ]);
    assert.deepEqual(ids(result.objects), ['datasource/a', 'folder/loadlm-f', 'dashboard/old']);
    assert.equal(grafanaErrorReason(result.error), 'GrafanaUnreachable');
    assert.equal(grafanaErrorReason(new Error('other')), undefined);
  });

  it('deletes every recorded object on cleanup and reports what is left on failure', async () => {
    const grafana = memoryGrafana();
    const recorded = (await syncGrafana(grafana.api, { datasources: [datasource('a')], content: content('d1') }, []))
      .objects;
    assert.deepEqual(await deleteGrafanaObjects(grafana.api, recorded), { left: [] });
    assert.equal(grafana.objects.size, 0);
    const failing = memoryGrafana('delete datasource/a');
    const left = await deleteGrafanaObjects(failing.api, recorded);
    assert.deepEqual(ids(left.left), ['datasource/a']);
  });
});
