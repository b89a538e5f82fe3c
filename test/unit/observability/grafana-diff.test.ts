/**
 * The pure half of the Grafana API client: what body is sent for a datasource, and which differences between
 * the wanted object and what Grafana returned count as a change (only fields loadlm owns; server-added ones do
 * not, so a no-op reconcile makes no write).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dashboardBody,
  dashboardChanges,
  datasourceBody,
  datasourceChanges,
  secureDataHash,
  secureHashKey,
  setSecureFields,
} from '../../../operator/observability/grafana/diff.ts';
import type { GrafanaDatasourceModel } from '../../../operator/observability/grafana/types.ts';

const key = Buffer.from('test-hash-key');

const plain: GrafanaDatasourceModel = {
  uid: 'dev-kind-prometheus',
  name: 'prometheus-dev',
  type: 'prometheus',
  url: 'http://prometheus.monitoring:9090',
  access: 'proxy',
  isDefault: true,
  jsonData: { httpMethod: 'POST' },
};

const withPassword: GrafanaDatasourceModel = {
  ...plain,
  basicAuth: true,
  basicAuthUser: 'reader',
  secureJsonData: { basicAuthPassword: 's3cret-password' },
};

/** What Grafana returns for a datasource created from `body`: server fields added, secure values hidden. */
function asReturnedByGrafana(body: ReturnType<typeof datasourceBody>): Record<string, unknown> {
  const { secureJsonData, ...rest } = body;
  return {
    ...rest,
    id: 7,
    orgId: 1,
    version: 3,
    readOnly: false,
    user: '',
    database: '',
    withCredentials: false,
    typeLogoUrl: 'public/app/plugins/datasource/prometheus/img/prometheus_logo.svg',
    secureJsonFields: Object.fromEntries(Object.keys(secureJsonData ?? {}).map((name) => [name, true])),
  };
}

describe('datasourceBody', () => {
  it('fills basicAuth and basicAuthUser as Grafana reports them and adds no hash without secure values', () => {
    const body = datasourceBody(plain, key);
    assert.equal(body.basicAuth, false);
    assert.equal(body.basicAuthUser, '');
    assert.deepEqual(body.jsonData, { httpMethod: 'POST' });
    assert.equal('secureJsonData' in body, false);
  });

  it('records a keyed hash of the secure values in jsonData and never the values themselves', () => {
    const body = datasourceBody(withPassword, key);
    assert.deepEqual(body.secureJsonData, { basicAuthPassword: 's3cret-password' });
    const hash = body.jsonData[secureHashKey];
    assert.equal(typeof hash, 'string');
    assert.match(String(hash), /^[0-9a-f]{32}$/);
    assert.equal(JSON.stringify(body.jsonData).includes('s3cret-password'), false);
  });

  it('changes the hash when a secret, a secret key or the hash key changes, and only then', () => {
    const base = secureDataHash({ basicAuthPassword: 'a' }, key);
    assert.equal(secureDataHash({ basicAuthPassword: 'a' }, key), base);
    assert.notEqual(secureDataHash({ basicAuthPassword: 'b' }, key), base);
    assert.notEqual(secureDataHash({ httpHeaderValue1: 'a' }, key), base);
    assert.notEqual(secureDataHash({ basicAuthPassword: 'a' }, Buffer.from('other-key')), base);
    // Boundaries between entries are unambiguous.
    assert.notEqual(secureDataHash({ a: 'bc' }, key), secureDataHash({ ab: 'c' }, key));
  });

  it('does not let a caller-supplied hash through', () => {
    const body = datasourceBody({ ...plain, jsonData: { httpMethod: 'POST', [secureHashKey]: 'forged' } }, key);
    assert.equal(secureHashKey in body.jsonData, false);
  });

  it('clears secure values set in Grafana that are no longer wanted', () => {
    const body = datasourceBody(plain, key, ['basicAuthPassword']);
    assert.deepEqual(body.secureJsonData, { basicAuthPassword: '' });
  });

  it('does not modify the model it was given', () => {
    const model = structuredClone(withPassword);
    datasourceBody(model, key);
    assert.deepEqual(model, withPassword);
  });
});

describe('datasourceChanges', () => {
  it('finds nothing to do when only server-added fields differ', () => {
    for (const model of [plain, withPassword]) {
      const body = datasourceBody(model, key);
      assert.deepEqual(datasourceChanges(body, asReturnedByGrafana(body)), []);
    }
  });

  it('treats a missing basicAuthUser or basicAuth like the defaults', () => {
    const body = datasourceBody(plain, key);
    const { basicAuth: _basicAuth, basicAuthUser: _user, ...returned } = asReturnedByGrafana(body);
    assert.deepEqual(datasourceChanges(body, returned), []);
  });

  it('names each owned field that differs', () => {
    const body = datasourceBody(withPassword, key);
    const returned = asReturnedByGrafana(body);
    assert.deepEqual(datasourceChanges(body, { ...returned, url: 'http://old:9090' }), ['url']);
    assert.deepEqual(datasourceChanges(body, { ...returned, name: 'renamed', isDefault: false }), [
      'name',
      'isDefault',
    ]);
    assert.deepEqual(datasourceChanges(body, { ...returned, basicAuthUser: 'someone' }), ['basicAuthUser']);
    assert.deepEqual(datasourceChanges(body, { ...returned, jsonData: { httpMethod: 'GET' } }), ['jsonData']);
  });

  it('detects a changed secret through the hash', () => {
    const before = datasourceBody(withPassword, key);
    const after = datasourceBody({ ...withPassword, secureJsonData: { basicAuthPassword: 'rotated' } }, key);
    assert.deepEqual(datasourceChanges(after, asReturnedByGrafana(before)), ['jsonData']);
  });

  it('re-sends a secret that was cleared in Grafana although the hash still matches', () => {
    const body = datasourceBody(withPassword, key);
    const returned = { ...asReturnedByGrafana(body), secureJsonFields: {} };
    assert.deepEqual(datasourceChanges(body, returned), ['secureJsonData']);
  });

  it('wants an update when the secret is dropped from the model', () => {
    const before = datasourceBody(withPassword, key);
    const after = datasourceBody(plain, key, ['basicAuthPassword']);
    assert.deepEqual(datasourceChanges(after, asReturnedByGrafana(before)), ['basicAuth', 'basicAuthUser', 'jsonData']);
  });

  it('reads only secure fields reported as set', () => {
    assert.deepEqual(setSecureFields({ secureJsonFields: { a: true, b: false } }), ['a']);
    assert.deepEqual(setSecureFields({ secureJsonFields: null }), []);
    assert.deepEqual(setSecureFields({}), []);
  });
});

describe('dashboards', () => {
  const model = {
    uid: 'loadlm-vllm',
    title: 'vLLM',
    id: 42,
    version: 9,
    schemaVersion: 39,
    panels: [{ id: 1, type: 'timeseries', title: 'TTFT', targets: [{ refId: 'A', expr: 'up' }] }],
    templating: { list: [] },
    description: undefined,
  };

  it('sends the model without Grafana-assigned id and version, and without undefined values', () => {
    const body = dashboardBody(model);
    assert.equal('id' in body, false);
    assert.equal('version' in body, false);
    assert.equal('description' in body, false);
    assert.equal(body.uid, 'loadlm-vllm');
  });

  it('finds nothing to do when Grafana returns the same model with its id and version', () => {
    const body = dashboardBody(model);
    const returned = { ...structuredClone(body), id: 3, version: 17 };
    assert.deepEqual(dashboardChanges(body, 'loadlm-folder', returned, 'loadlm-folder'), []);
  });

  it('names changed keys, nested changes included', () => {
    const body = dashboardBody(model);
    const returned = structuredClone(body) as typeof body & { panels: Array<{ title: string }> };
    const firstPanel = returned.panels[0];
    assert.ok(firstPanel);
    firstPanel.title = 'Edited in the UI';
    assert.deepEqual(dashboardChanges(body, 'f', returned, 'f'), ['panels']);
    assert.deepEqual(dashboardChanges(body, 'f', { ...body, title: 'Old' }, 'f'), ['title']);
  });

  it('detects a dashboard in another folder, the General folder included', () => {
    const body = dashboardBody(model);
    assert.deepEqual(dashboardChanges(body, 'wanted', body, 'other'), ['folderUid']);
    assert.deepEqual(dashboardChanges(body, 'wanted', body, ''), ['folderUid']);
    assert.deepEqual(dashboardChanges(body, 'wanted', body, undefined), ['folderUid']);
    assert.deepEqual(dashboardChanges(body, '', body, undefined), []);
  });
});
