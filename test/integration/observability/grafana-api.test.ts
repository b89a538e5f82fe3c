/**
 * The Grafana API client (ObservabilityStack mode `api`) over real HTTP against the fake Grafana
 * (test/support/fake-grafana.ts), which follows Grafana's documented legacy /api endpoints: create, update,
 * no-op (zero writes), delete by uid, and each failure a user must be able to act on (401, 403, 404, 409, 5xx,
 * dropped connections, no answer, closed port), with no credential or secret in any message.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadBuiltInDashboard } from '../../../operator/observability/desired/dashboards.ts';
import {
  createGrafanaApiClient,
  type GrafanaApiClient,
  GrafanaApiError,
  type GrafanaDatasourceModel,
} from '../../../operator/observability/grafana/api-client.ts';
import { secureHashKey } from '../../../operator/observability/grafana/diff.ts';
import { type FakeGrafana, startFakeGrafana } from '../../support/fake-grafana.ts';

const token = 'glsa_test-token-0123456789';
const secrets = [token, 'reader-password-1', 'reader-password-2', 'wrong-token-value', 'basic-password'];

const datasource: GrafanaDatasourceModel = {
  uid: 'dev-kind-prometheus',
  name: 'prometheus-dev',
  type: 'prometheus',
  url: 'http://prometheus.monitoring:9090',
  access: 'proxy',
  isDefault: true,
  jsonData: { httpMethod: 'POST' },
};

const securedDatasource: GrafanaDatasourceModel = {
  uid: 'staging-eks-prometheus',
  name: 'prometheus-staging',
  type: 'prometheus',
  url: 'https://prometheus.staging.example.com',
  access: 'proxy',
  isDefault: false,
  jsonData: { httpMethod: 'POST' },
  basicAuth: true,
  basicAuthUser: 'reader',
  secureJsonData: { basicAuthPassword: 'reader-password-1' },
};

/** Every GrafanaApiError seen, to check at the end that none carries a secret. */
const errorsSeen: GrafanaApiError[] = [];

async function rejection(promise: Promise<unknown>): Promise<GrafanaApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GrafanaApiError, `expected a GrafanaApiError, got ${String(error)}`);
    errorsSeen.push(error);
    return error;
  }
  assert.fail('expected the call to fail');
}

function assertNoSecret(text: string): void {
  for (const secret of secrets) assert.equal(text.includes(secret), false, `"${text}" contains a secret`);
}

describe('Grafana API client against the fake Grafana', () => {
  let grafana: FakeGrafana;
  let client: GrafanaApiClient;

  before(async () => {
    grafana = await startFakeGrafana({ token });
  });
  after(async () => {
    await grafana.close();
    for (const error of errorsSeen) assertNoSecret(`${error.message} ${error.stack ?? ''}`);
  });
  beforeEach(() => {
    grafana.datasources.clear();
    grafana.dashboards.clear();
    grafana.folders.clear();
    client = createGrafanaApiClient({ url: grafana.url, auth: { token }, timeoutMs: 5000 });
  });

  it('passes the health check with valid credentials', async () => {
    await client.health();
    const paths = grafana.requests.slice(-2).map((r) => `${r.method} ${r.path} ${r.authorization}`);
    assert.deepEqual(paths, ['GET /api/health bearer', 'GET /api/org bearer']);
  });

  describe('datasources', () => {
    it('creates, then leaves alone (zero writes), then updates a changed field', async () => {
      assert.equal(await client.upsertDatasource(datasource), 'created');
      const created = grafana.datasources.get(datasource.uid);
      assert.ok(created);
      assert.equal(created.name, 'prometheus-dev');
      assert.equal(created.url, 'http://prometheus.monitoring:9090');
      assert.equal(created.isDefault, true);
      assert.deepEqual(created.jsonData, { httpMethod: 'POST' });

      const mark = grafana.requests.length;
      assert.equal(await client.upsertDatasource(structuredClone(datasource)), 'unchanged');
      assert.deepEqual(grafana.writes(mark), []);
      assert.deepEqual(
        grafana.requests.slice(mark).map((r) => `${r.method} ${r.path}`),
        ['GET /api/datasources/uid/dev-kind-prometheus'],
      );

      const moved = { ...datasource, url: 'http://prometheus-v2.monitoring:9090' };
      const beforeUpdate = grafana.requests.length;
      assert.equal(await client.upsertDatasource(moved), 'updated');
      assert.deepEqual(
        grafana.writes(beforeUpdate).map((r) => `${r.method} ${r.path}`),
        ['PUT /api/datasources/uid/dev-kind-prometheus'],
      );
      const updated = grafana.datasources.get(datasource.uid);
      assert.equal(updated?.url, 'http://prometheus-v2.monitoring:9090');
      assert.equal(updated?.version, 2);
      assert.equal(updated?.id, created.id);
      assert.equal(await client.upsertDatasource(moved), 'unchanged');
    });

    it('reverts a field changed in Grafana by someone else', async () => {
      await client.upsertDatasource(datasource);
      const stored = grafana.datasources.get(datasource.uid);
      assert.ok(stored);
      stored.jsonData = { httpMethod: 'GET', timeInterval: '1m' };
      assert.equal(await client.upsertDatasource(datasource), 'updated');
      assert.deepEqual(grafana.datasources.get(datasource.uid)?.jsonData, { httpMethod: 'POST' });
    });

    it('stores secure values write-only, re-sends a changed secret, and never puts a secret in jsonData', async () => {
      assert.equal(await client.upsertDatasource(securedDatasource), 'created');
      const created = grafana.datasources.get(securedDatasource.uid);
      assert.deepEqual(created?.secureJsonData, { basicAuthPassword: 'reader-password-1' });
      assert.equal(typeof created?.jsonData[secureHashKey], 'string');
      assertNoSecret(JSON.stringify(created?.jsonData));

      const mark = grafana.requests.length;
      assert.equal(await client.upsertDatasource(securedDatasource), 'unchanged');
      assert.deepEqual(grafana.writes(mark), []);
      // What Grafana returns never holds the secret.
      const answered = grafana.requests.at(-1);
      assert.equal(answered?.method, 'GET');

      const rotated = { ...securedDatasource, secureJsonData: { basicAuthPassword: 'reader-password-2' } };
      assert.equal(await client.upsertDatasource(rotated), 'updated');
      assert.deepEqual(grafana.datasources.get(securedDatasource.uid)?.secureJsonData, {
        basicAuthPassword: 'reader-password-2',
      });
      assert.equal(await client.upsertDatasource(rotated), 'unchanged');
    });

    it('re-sends a secret that was cleared in Grafana', async () => {
      await client.upsertDatasource(securedDatasource);
      const stored = grafana.datasources.get(securedDatasource.uid);
      assert.ok(stored);
      stored.secureJsonData = {};
      assert.equal(await client.upsertDatasource(securedDatasource), 'updated');
      assert.deepEqual(grafana.datasources.get(securedDatasource.uid)?.secureJsonData, {
        basicAuthPassword: 'reader-password-1',
      });
    });

    it('clears secure values when the credentials are dropped, then settles', async () => {
      await client.upsertDatasource(securedDatasource);
      const { secureJsonData: _secure, basicAuth: _basic, basicAuthUser: _user, ...withoutAuth } = securedDatasource;
      assert.equal(await client.upsertDatasource(withoutAuth), 'updated');
      const stored = grafana.datasources.get(securedDatasource.uid);
      assert.equal(stored?.basicAuth, false);
      assert.equal(stored?.secureJsonData.basicAuthPassword, '');
      assert.equal(secureHashKey in (stored?.jsonData ?? {}), false);
      assert.equal(await client.upsertDatasource(withoutAuth), 'unchanged');
    });

    it('deletes by uid, and reports an absent one', async () => {
      await client.upsertDatasource(datasource);
      assert.equal(await client.deleteDatasource(datasource.uid), 'deleted');
      assert.equal(grafana.datasources.has(datasource.uid), false);
      assert.equal(await client.deleteDatasource(datasource.uid), 'absent');
    });

    it('rejects a name taken by a datasource with another uid (409), naming both', async () => {
      grafana.seedDatasource({ uid: 'hand-made', name: 'prometheus-dev' });
      const error = await rejection(client.upsertDatasource(datasource));
      assert.equal(error.reason, 'GrafanaRejected');
      assert.equal(error.status, 409);
      assert.match(error.message, /"prometheus-dev"/);
      assert.match(error.message, /hand-made/);
      assert.match(error.message, new RegExp(grafana.url.replace(/[.:/]/g, '\\$&')));
      assert.equal(grafana.datasources.get('hand-made')?.url, 'http://seeded.invalid');
    });

    it('rejects a rename onto a name taken by another datasource (409 on update)', async () => {
      await client.upsertDatasource(datasource);
      grafana.seedDatasource({ uid: 'other', name: 'prometheus-taken' });
      const error = await rejection(client.upsertDatasource({ ...datasource, name: 'prometheus-taken' }));
      assert.equal(error.reason, 'GrafanaRejected');
      assert.equal(error.status, 409);
      assert.match(error.message, /prometheus-taken/);
      assert.match(error.message, /uid other/);
    });

    it('refuses to write over a read-only (file-provisioned) datasource', async () => {
      grafana.seedDatasource({ uid: datasource.uid, name: datasource.name, readOnly: true });
      const mark = grafana.requests.length;
      const error = await rejection(client.upsertDatasource(datasource));
      assert.equal(error.reason, 'GrafanaRejected');
      assert.match(error.message, /read-only/);
      assert.deepEqual(grafana.writes(mark), []);
    });

    it('keeps one default datasource, as Grafana does', async () => {
      await client.upsertDatasource(datasource);
      await client.upsertDatasource({ ...securedDatasource, isDefault: true });
      assert.equal(grafana.datasources.get(datasource.uid)?.isDefault, false);
      // Our own model says isDefault: true, so the next reconcile flips it back: two defaults fight.
      assert.equal(await client.upsertDatasource(datasource), 'updated');
    });
  });

  describe('folders and dashboards', () => {
    const folder = { uid: 'loadlm-loadlm', title: 'LoadLM' };

    it('ensures a folder: created, unchanged (zero writes), retitled', async () => {
      assert.equal(await client.ensureFolder(folder), 'created');
      assert.equal(grafana.folders.get(folder.uid)?.title, 'LoadLM');
      const mark = grafana.requests.length;
      assert.equal(await client.ensureFolder(folder), 'unchanged');
      assert.deepEqual(grafana.writes(mark), []);
      assert.equal(await client.ensureFolder({ ...folder, title: 'LoadLM dashboards' }), 'updated');
      assert.equal(grafana.folders.get(folder.uid)?.title, 'LoadLM dashboards');
      assert.equal(grafana.folders.get(folder.uid)?.version, 2);
    });

    it('rejects a folder whose title another folder has (409)', async () => {
      await client.ensureFolder({ uid: 'someone-else', title: 'LoadLM' });
      const error = await rejection(client.ensureFolder(folder));
      assert.equal(error.reason, 'GrafanaRejected');
      assert.equal(error.status, 409);
      assert.match(error.message, /"LoadLM"/);
    });

    it('upserts a built-in dashboard: created, unchanged (zero writes), updated, reverted after a UI edit', async () => {
      const { id: _id, ...vllm } = loadBuiltInDashboard('vllm');
      const dashboard = vllm as typeof vllm & { uid: string; title: string };
      await client.ensureFolder(folder);
      assert.equal(await client.upsertDashboard(dashboard, folder.uid), 'created');
      const created = grafana.dashboards.get(dashboard.uid);
      assert.equal(created?.folderUid, folder.uid);
      assert.equal(created?.title, dashboard.title);

      const mark = grafana.requests.length;
      assert.equal(await client.upsertDashboard(structuredClone(dashboard), folder.uid), 'unchanged');
      assert.deepEqual(grafana.writes(mark), []);

      const retitled = { ...dashboard, title: `${dashboard.title} (v2)` };
      assert.equal(await client.upsertDashboard(retitled, folder.uid), 'updated');
      assert.equal(grafana.dashboards.get(dashboard.uid)?.title, retitled.title);
      assert.equal(grafana.dashboards.get(dashboard.uid)?.version, 2);

      // Someone saves an edit in the UI: Grafana's version moves on; overwrite puts ours back.
      const stored = grafana.dashboards.get(dashboard.uid);
      assert.ok(stored);
      stored.model = { ...stored.model, panels: [], version: 5 };
      stored.version = 5;
      assert.equal(await client.upsertDashboard(retitled, folder.uid), 'updated');
      assert.deepEqual(grafana.dashboards.get(dashboard.uid)?.model.panels, dashboard.panels);
      assert.equal(await client.upsertDashboard(retitled, folder.uid), 'unchanged');
    });

    it('moves a dashboard back into its folder', async () => {
      await client.ensureFolder(folder);
      const dashboard = { uid: 'loadlm-gpu', title: 'GPU', panels: [] };
      await client.upsertDashboard(dashboard, folder.uid);
      const stored = grafana.dashboards.get('loadlm-gpu');
      assert.ok(stored);
      stored.folderUid = '';
      assert.equal(await client.upsertDashboard(dashboard, folder.uid), 'updated');
      assert.equal(grafana.dashboards.get('loadlm-gpu')?.folderUid, folder.uid);
    });

    it('rejects a dashboard for a folder that does not exist, with Grafana’s message', async () => {
      const error = await rejection(client.upsertDashboard({ uid: 'x', title: 'X' }, 'no-such-folder'));
      assert.equal(error.reason, 'GrafanaRejected');
      assert.equal(error.status, 400);
      assert.match(error.message, /folder not found/);
    });

    it('deletes a dashboard by uid, and reports an absent one', async () => {
      await client.ensureFolder(folder);
      await client.upsertDashboard({ uid: 'loadlm-gpu', title: 'GPU' }, folder.uid);
      assert.equal(await client.deleteDashboard('loadlm-gpu'), 'deleted');
      assert.equal(grafana.dashboards.has('loadlm-gpu'), false);
      assert.equal(await client.deleteDashboard('loadlm-gpu'), 'absent');
    });

    it('deletes only an empty folder: someone else’s dashboard in it survives', async () => {
      await client.ensureFolder(folder);
      grafana.seedDashboard({ uid: 'hand-made', title: 'Mine', folderUid: folder.uid });
      grafana.seedDashboard({ uid: 'elsewhere', title: 'Elsewhere' });
      assert.equal(await client.deleteFolder(folder.uid), 'notEmpty');
      assert.ok(grafana.folders.has(folder.uid));
      assert.ok(grafana.dashboards.has('hand-made'));

      grafana.dashboards.delete('hand-made');
      assert.equal(await client.deleteFolder(folder.uid), 'deleted');
      assert.equal(grafana.folders.has(folder.uid), false);
      assert.ok(grafana.dashboards.has('elsewhere'));
      assert.equal(await client.deleteFolder(folder.uid), 'absent');
    });
  });

  describe('failures', () => {
    it('reports wrong token as GrafanaAuthFailed (401) without the token', async () => {
      const wrong = createGrafanaApiClient({ url: grafana.url, auth: { token: 'wrong-token-value' } });
      const error = await rejection(wrong.upsertDatasource(datasource));
      assert.equal(error.reason, 'GrafanaAuthFailed');
      assert.equal(error.status, 401);
      assert.match(error.message, /HTTP 401/);
      assert.ok(error.message.includes(grafana.url));
      assertNoSecret(error.message);
      const health = await rejection(wrong.health());
      assert.equal(health.reason, 'GrafanaAuthFailed');
    });

    it('reports HTTP 403 as GrafanaAuthFailed, naming the permission needed', async () => {
      grafana.failNext(1, 403);
      const error = await rejection(client.deleteDatasource('any'));
      assert.equal(error.reason, 'GrafanaAuthFailed');
      assert.equal(error.status, 403);
      assert.match(error.message, /Admin role/);
    });

    it('reports 5xx as GrafanaServerError with the status, and works again once Grafana recovers', async () => {
      grafana.failNext(1, 503);
      const error = await rejection(client.upsertDatasource(datasource));
      assert.equal(error.reason, 'GrafanaServerError');
      assert.equal(error.status, 503);
      assert.match(error.message, /HTTP 503.*injected failure/);
      assert.equal(await client.upsertDatasource(datasource), 'created');
    });

    it('reports a dropped connection as GrafanaUnreachable', async () => {
      grafana.failNext(1, 'close');
      const error = await rejection(client.health());
      assert.equal(error.reason, 'GrafanaUnreachable');
      assert.equal(error.status, undefined);
      assert.ok(error.message.includes(grafana.url));
    });

    it('gives up on a Grafana that does not answer within timeoutMs', async () => {
      grafana.failNext(1, 'hang');
      const impatient = createGrafanaApiClient({ url: grafana.url, auth: { token }, timeoutMs: 200 });
      const error = await rejection(impatient.health());
      assert.equal(error.reason, 'GrafanaUnreachable');
      assert.match(error.message, /no answer within 200 ms/);
    });

    it('reports a closed port as GrafanaUnreachable, naming the URL', async () => {
      const port = await closedPort();
      const nowhere = createGrafanaApiClient({ url: `http://127.0.0.1:${port}`, auth: { token } });
      const error = await rejection(nowhere.ensureFolder({ uid: 'a', title: 'A' }));
      assert.equal(error.reason, 'GrafanaUnreachable');
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
    });

    it('reports a URL that is not Grafana (404 on /api/health) as GrafanaRejected', async () => {
      const wrongPath = createGrafanaApiClient({ url: `${grafana.url}/not-grafana/`, auth: { token } });
      const error = await rejection(wrongPath.health());
      assert.equal(error.reason, 'GrafanaRejected');
      assert.match(error.message, /is this the base URL of Grafana/);
    });

    it('keeps credentials and secure values out of a message even when the server echoes the request', async () => {
      const echo = await startEchoServer();
      try {
        const basic = createGrafanaApiClient({
          url: echo.url,
          auth: { username: 'admin', password: 'basic-password' },
        });
        const error = await rejection(basic.upsertDatasource(securedDatasource));
        assert.equal(error.reason, 'GrafanaRejected');
        assert.equal(error.status, 400);
        // The basic-auth header and the datasource password were both in Grafana's message.
        assert.equal(error.message.split('[redacted]').length - 1, 2, error.message);
        assertNoSecret(error.message);
        const bearer = createGrafanaApiClient({ url: echo.url, auth: { token } });
        assertNoSecret((await rejection(bearer.ensureFolder({ uid: 'a', title: 'A' }))).message);
      } finally {
        await echo.close();
      }
    });

    it('reports a redirect (e.g. to a login page) as GrafanaRejected, naming where to', async () => {
      const server = createHttpServer((_request, response) => {
        response.writeHead(302, { location: 'https://sso.example.com/login?next=%2Fapi%2Fhealth' }).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const address = server.address();
        assert.ok(address && typeof address === 'object');
        const redirected = createGrafanaApiClient({ url: `http://127.0.0.1:${address.port}`, auth: { token } });
        const error = await rejection(redirected.health());
        assert.equal(error.reason, 'GrafanaRejected');
        assert.equal(error.status, 302);
        assert.match(error.message, /redirected GET \/api\/health \(HTTP 302 to https:\/\/sso\.example\.com\/login\)/);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('refuses credentials in the URL without repeating them', async () => {
      const port = new URL(grafana.url).port;
      const leaky = createGrafanaApiClient({ url: `http://admin:basic-password@127.0.0.1:${port}`, auth: { token } });
      const mark = grafana.requests.length;
      const error = await rejection(leaky.health());
      assert.equal(error.reason, 'GrafanaRejected');
      assert.match(error.message, /must not contain credentials/);
      assert.equal(grafana.requests.length, mark);
    });
  });
});

describe('Grafana API client: basic auth and organizations', () => {
  let grafana: FakeGrafana;
  const basicAuth = { username: 'admin', password: 'basic-password' };

  before(async () => {
    grafana = await startFakeGrafana({ basicAuth, orgIds: [1, 2] });
  });
  after(async () => {
    await grafana.close();
    for (const error of errorsSeen) assertNoSecret(error.message);
  });

  it('authenticates with basic auth', async () => {
    const client = createGrafanaApiClient({ url: grafana.url, auth: basicAuth });
    await client.health();
    assert.equal(await client.upsertDatasource(datasource), 'created');
    assert.equal(grafana.requests.at(-1)?.authorization, 'basic');
  });

  it('reports a wrong password as GrafanaAuthFailed without the password', async () => {
    const client = createGrafanaApiClient({ url: grafana.url, auth: { ...basicAuth, password: 'reader-password-2' } });
    const error = await rejection(client.ensureFolder({ uid: 'f', title: 'F' }));
    assert.equal(error.reason, 'GrafanaAuthFailed');
    assertNoSecret(error.message);
  });

  it('works in the organization given by orgId (X-Grafana-Org-Id)', async () => {
    const client = createGrafanaApiClient({ url: grafana.url, auth: basicAuth, orgId: 2 });
    assert.equal(await client.upsertDatasource({ ...datasource, uid: 'org2-prometheus' }), 'created');
    assert.ok(grafana.org(2).datasources.has('org2-prometheus'));
    assert.equal(grafana.org(1).datasources.has('org2-prometheus'), false);
    assert.equal(grafana.requests.at(-1)?.orgHeader, '2');
  });

  it('reports an organization the credentials do not belong to as GrafanaAuthFailed, naming it', async () => {
    const client = createGrafanaApiClient({ url: grafana.url, auth: basicAuth, orgId: 9 });
    const error = await rejection(client.health());
    assert.equal(error.reason, 'GrafanaAuthFailed');
    assert.match(error.message, /organization 9/);
  });
});

/** Answers GETs with 404 and everything else with 400 and a message repeating the credentials and secure values. */
async function startEchoServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const status = request.method === 'GET' ? 404 : 400;
      const secure = body === '' ? undefined : (JSON.parse(body) as { secureJsonData?: unknown }).secureJsonData;
      const json = JSON.stringify({
        message: `rejected ${request.headers.authorization ?? ''} ${JSON.stringify(secure ?? null)}`,
      });
      response.writeHead(status, { 'content-type': 'application/json' }).end(json);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}
