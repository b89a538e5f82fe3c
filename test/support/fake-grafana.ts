/**
 * An in-process stand-in for Grafana's HTTP API on 127.0.0.1, for tests of the API-mode client. It follows the
 * documented legacy `/api` endpoints loadlm uses (datasources, folders, dashboards, search, org, health) closely
 * enough to exercise real HTTP: numeric ids and versions, uid and name uniqueness (409), 404s, 412 on a stale
 * dashboard version, read-only (provisioned) datasources (403), bearer-token and basic auth (401), and the
 * `X-Grafana-Org-Id` header. State is per organization and inspectable; every request is logged; faults can be
 * injected (HTTP errors, dropped connections, no answer).
 *
 *   const grafana = await startFakeGrafana({ token: 'test-token' });
 *   ... grafana.datasources.get('dev-prometheus'), grafana.writes() ...
 *   await grafana.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGrafanaOptions {
  /** Accept `Authorization: Bearer <token>`. */
  token?: string;
  /** Accept basic auth with these credentials. With neither option, requests need no credentials. */
  basicAuth?: { username: string; password: string };
  /** Organizations that exist (the credentials are members of all). Default [1]. */
  orgIds?: number[];
}

export interface FakeDatasource {
  id: number;
  uid: string;
  orgId: number;
  name: string;
  type: string;
  access: string;
  url: string;
  user: string;
  database: string;
  basicAuth: boolean;
  basicAuthUser: string;
  withCredentials: boolean;
  isDefault: boolean;
  jsonData: Record<string, unknown>;
  /** Stored for inspection by tests; like Grafana, never returned by the API (only `secureJsonFields`). */
  secureJsonData: Record<string, string>;
  version: number;
  readOnly: boolean;
}

export interface FakeFolder {
  id: number;
  uid: string;
  orgId: number;
  title: string;
  version: number;
}

export interface FakeDashboard {
  id: number;
  uid: string;
  orgId: number;
  title: string;
  /** '' for the General (root) folder. */
  folderUid: string;
  version: number;
  /** The stored JSON model, including id, uid and version as Grafana sets them. */
  model: Record<string, unknown>;
}

export interface FakeOrgState {
  datasources: Map<string, FakeDatasource>;
  folders: Map<string, FakeFolder>;
  dashboards: Map<string, FakeDashboard>;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  /** X-Grafana-Org-Id, if sent. */
  orgHeader: string | undefined;
  authorization: 'none' | 'bearer' | 'basic' | 'other';
  /** Parsed JSON body, if any. */
  body: unknown;
  /** Status answered; 0 when the connection was dropped or left unanswered. */
  status: number;
}

export type InjectedFault = number | 'close' | 'hang';

export interface FakeGrafana {
  /** e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Organization 1's objects by uid. */
  readonly datasources: Map<string, FakeDatasource>;
  readonly dashboards: Map<string, FakeDashboard>;
  readonly folders: Map<string, FakeFolder>;
  org(orgId: number): FakeOrgState;
  readonly requests: RecordedRequest[];
  /** Requests that may change state (everything but GET), optionally only those since index `from`. */
  writes(from?: number): RecordedRequest[];
  /**
   * The next `count` requests fail: with that HTTP status (and a JSON message), by a dropped connection
   * (`close`), or by no answer at all until close() (`hang`).
   */
  failNext(count: number, fault: InjectedFault): void;
  /** Puts a datasource in place as if created elsewhere (e.g. provisioned from a file with readOnly: true). */
  seedDatasource(input: Partial<FakeDatasource> & { uid: string; name: string }, orgId?: number): FakeDatasource;
  /** Puts a dashboard in place as if created elsewhere. */
  seedDashboard(
    input: { uid: string; title: string; folderUid?: string; model?: Record<string, unknown> },
    orgId?: number,
  ): FakeDashboard;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  readonly extra: Record<string, unknown>;
  constructor(status: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

const uidPattern = /^[a-zA-Z0-9_-]{1,40}$/;

export async function startFakeGrafana(options: FakeGrafanaOptions = {}): Promise<FakeGrafana> {
  const orgs = new Map<number, FakeOrgState>();
  for (const orgId of options.orgIds ?? [1]) {
    orgs.set(orgId, { datasources: new Map(), folders: new Map(), dashboards: new Map() });
  }
  const requests: RecordedRequest[] = [];
  const faults: InjectedFault[] = [];
  let nextId = 1;
  let uidCounter = 0;
  const newUid = () => `fake${(++uidCounter).toString(36).padStart(6, '0')}`;

  const orgState = (orgId: number): FakeOrgState => {
    const state = orgs.get(orgId);
    if (!state) throw new Error(`fake Grafana has no organization ${orgId}`);
    return state;
  };

  const authorize = (request: IncomingMessage): RecordedRequest['authorization'] => {
    const header = request.headers.authorization ?? '';
    const kind =
      header === '' ? 'none' : /^bearer /i.test(header) ? 'bearer' : /^basic /i.test(header) ? 'basic' : 'other';
    if (!options.token && !options.basicAuth) return kind;
    if (kind === 'bearer' && options.token && header.slice(7) === options.token) return kind;
    if (kind === 'basic' && options.basicAuth) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      if (decoded === `${options.basicAuth.username}:${options.basicAuth.password}`) return kind;
    }
    throw new HttpError(401, kind === 'bearer' ? 'Invalid API key' : 'Invalid username or password');
  };

  const route = (
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
    state: FakeOrgState,
    orgId: number,
  ) => {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [api, resource, ...rest] = parts;
    if (api !== 'api') throw new HttpError(404, 'Not found');
    if (resource === 'org' && rest.length === 0 && method === 'GET')
      return { id: orgId, name: orgId === 1 ? 'Main Org.' : `Org ${orgId}` };
    if (resource === 'datasources') return datasourceRoute(method, rest, body, state, orgId);
    if (resource === 'folders') return folderRoute(method, rest, body, state, orgId);
    if (resource === 'dashboards') return dashboardRoute(method, rest, body, state, orgId);
    if (resource === 'search' && rest.length === 0 && method === 'GET') return search(query, state);
    throw new HttpError(404, 'Not found');
  };

  // ------------------------------------------------------------------------------------------- datasources

  const datasourceDto = (ds: FakeDatasource) => {
    const { secureJsonData, ...visible } = ds;
    const secureJsonFields = Object.fromEntries(
      Object.entries(secureJsonData)
        .filter(([, value]) => value.length > 0)
        .map(([key]) => [key, true]),
    );
    return { ...visible, typeLogoUrl: `public/app/plugins/datasource/${ds.type}/img/logo.svg`, secureJsonFields };
  };

  const clearOtherDefaults = (state: FakeOrgState, keep: FakeDatasource) => {
    if (!keep.isDefault) return;
    for (const ds of state.datasources.values()) if (ds !== keep) ds.isDefault = false;
  };

  const datasourceRoute = (method: string, rest: string[], body: unknown, state: FakeOrgState, orgId: number) => {
    const byName = (name: string) => [...state.datasources.values()].find((ds) => ds.name === name);
    if (rest.length === 0 && method === 'GET') return [...state.datasources.values()].map(datasourceDto);
    if (rest.length === 0 && method === 'POST') {
      const input = requireObject(body);
      const name = requireString(input, 'name');
      const type = requireString(input, 'type');
      const uid = optionalString(input, 'uid') || newUid();
      if (!uidPattern.test(uid)) throw new HttpError(400, 'invalid uid');
      if (byName(name)) throw new HttpError(409, 'data source with the same name already exists');
      if (state.datasources.has(uid)) throw new HttpError(409, 'data source with the same uid already exists');
      const ds: FakeDatasource = {
        id: nextId++,
        uid,
        orgId,
        name,
        type,
        access: optionalString(input, 'access') || 'proxy',
        url: optionalString(input, 'url'),
        user: optionalString(input, 'user'),
        database: optionalString(input, 'database'),
        basicAuth: input.basicAuth === true,
        basicAuthUser: optionalString(input, 'basicAuthUser'),
        withCredentials: input.withCredentials === true,
        isDefault: input.isDefault === true,
        jsonData: objectOr(input.jsonData),
        secureJsonData: stringMap(input.secureJsonData),
        version: 1,
        readOnly: false,
      };
      state.datasources.set(uid, ds);
      clearOtherDefaults(state, ds);
      return { message: 'Datasource added', id: ds.id, name: ds.name, datasource: datasourceDto(ds) };
    }
    const [selector, key, ...tail] = rest;
    if (tail.length > 0 || key === undefined) throw new HttpError(404, 'Not found');
    if (selector === 'name' && method === 'GET') {
      const ds = byName(key);
      if (!ds) throw new HttpError(404, 'Data source not found');
      return datasourceDto(ds);
    }
    if (selector !== 'uid') throw new HttpError(404, 'Not found');
    const ds = state.datasources.get(key);
    if (!ds) throw new HttpError(404, 'Data source not found');
    if (method === 'GET') return datasourceDto(ds);
    if (method === 'DELETE') {
      if (ds.readOnly) throw new HttpError(403, 'Cannot delete read-only data source');
      state.datasources.delete(key);
      return { message: 'Data source deleted', id: ds.id };
    }
    if (method !== 'PUT') throw new HttpError(405, 'Method not allowed');
    const input = requireObject(body);
    const name = requireString(input, 'name');
    const type = requireString(input, 'type');
    if (ds.readOnly) throw new HttpError(403, 'Cannot update read-only data source');
    const version = typeof input.version === 'number' ? input.version : 0;
    if (version !== 0 && version < ds.version) {
      throw new HttpError(409, 'Datasource has already been updated by someone else. Please reload and try again');
    }
    const holder = byName(name);
    if (holder && holder !== ds) {
      throw new HttpError(409, 'Failed to update datasource: data source with the same name already exists');
    }
    const newUidValue = optionalString(input, 'uid') || ds.uid;
    if (newUidValue !== ds.uid) {
      if (state.datasources.has(newUidValue)) throw new HttpError(409, 'data source with the same uid already exists');
      state.datasources.delete(ds.uid);
      ds.uid = newUidValue;
      state.datasources.set(ds.uid, ds);
    }
    Object.assign(ds, {
      name,
      type,
      access: optionalString(input, 'access') || 'proxy',
      url: optionalString(input, 'url'),
      user: optionalString(input, 'user'),
      database: optionalString(input, 'database'),
      basicAuth: input.basicAuth === true,
      basicAuthUser: optionalString(input, 'basicAuthUser'),
      withCredentials: input.withCredentials === true,
      isDefault: input.isDefault === true,
      jsonData: objectOr(input.jsonData),
      // Like Grafana: secure values not sent are kept.
      secureJsonData: { ...ds.secureJsonData, ...stringMap(input.secureJsonData) },
      version: ds.version + 1,
    });
    clearOtherDefaults(state, ds);
    return { message: 'Datasource updated', id: ds.id, name: ds.name, datasource: datasourceDto(ds) };
  };

  // ----------------------------------------------------------------------------------------------- folders

  const folderDto = (folder: FakeFolder) => ({
    id: folder.id,
    uid: folder.uid,
    orgId: folder.orgId,
    title: folder.title,
    url: `/dashboards/f/${folder.uid}/${slug(folder.title)}`,
    hasAcl: false,
    canSave: true,
    canEdit: true,
    canAdmin: true,
    version: folder.version,
  });

  const folderRoute = (method: string, rest: string[], body: unknown, state: FakeOrgState, orgId: number) => {
    if (rest.length === 0 && method === 'GET') {
      return [...state.folders.values()].map((f) => ({ id: f.id, uid: f.uid, title: f.title }));
    }
    if (rest.length === 0 && method === 'POST') {
      const input = requireObject(body);
      const title = requireString(input, 'title');
      const uid = optionalString(input, 'uid') || newUid();
      if (!uidPattern.test(uid)) throw new HttpError(400, 'uid contains illegal characters');
      if (state.folders.has(uid)) throw new HttpError(409, 'a folder with the same uid already exists');
      if ([...state.folders.values()].some((f) => f.title === title)) {
        throw new HttpError(409, 'a folder with the same name already exists');
      }
      const folder: FakeFolder = { id: nextId++, uid, orgId, title, version: 1 };
      state.folders.set(uid, folder);
      return folderDto(folder);
    }
    const [uid, ...tail] = rest;
    if (uid === undefined || tail.length > 0) throw new HttpError(404, 'Not found');
    const folder = state.folders.get(uid);
    if (!folder) throw new HttpError(404, 'folder not found');
    if (method === 'GET') return folderDto(folder);
    if (method === 'PUT') {
      const input = requireObject(body);
      const title = requireString(input, 'title');
      if (input.overwrite !== true && input.version !== folder.version) {
        throw new HttpError(412, 'the folder has been changed by someone else', { status: 'version-mismatch' });
      }
      folder.title = title;
      folder.version += 1;
      return folderDto(folder);
    }
    if (method === 'DELETE') {
      // Like Grafana: the folder's dashboards go with it.
      for (const dashboard of [...state.dashboards.values()]) {
        if (dashboard.folderUid === uid) state.dashboards.delete(dashboard.uid);
      }
      state.folders.delete(uid);
      return { message: 'Folder deleted', id: folder.id, title: folder.title };
    }
    throw new HttpError(405, 'Method not allowed');
  };

  // -------------------------------------------------------------------------------------------- dashboards

  const dashboardRoute = (method: string, rest: string[], body: unknown, state: FakeOrgState, orgId: number) => {
    if (rest.length === 1 && rest[0] === 'db' && method === 'POST') {
      const input = requireObject(body);
      const model = requireObject(input.dashboard);
      const title = typeof model.title === 'string' ? model.title.trim() : '';
      if (title === '') throw new HttpError(400, 'Dashboard title cannot be empty');
      const folderUid = optionalString(input, 'folderUid');
      if (folderUid !== '' && !state.folders.has(folderUid)) throw new HttpError(400, 'folder not found');
      const uid = typeof model.uid === 'string' && model.uid !== '' ? model.uid : newUid();
      if (!uidPattern.test(uid)) throw new HttpError(400, 'uid contains illegal characters');
      const overwrite = input.overwrite === true;
      const existing = state.dashboards.get(uid);
      if (existing && !overwrite && model.version !== existing.version) {
        throw new HttpError(412, 'The dashboard has been changed by someone else', { status: 'version-mismatch' });
      }
      const sameTitle = [...state.dashboards.values()].find(
        (d) => d.uid !== uid && d.folderUid === folderUid && d.title === title,
      );
      if (sameTitle && !overwrite) {
        throw new HttpError(412, 'A dashboard with the same name in the folder already exists', {
          status: 'name-exists',
        });
      }
      const id = existing?.id ?? nextId++;
      const version = (existing?.version ?? 0) + 1;
      const stored: FakeDashboard = {
        id,
        uid,
        orgId,
        title,
        folderUid,
        version,
        model: { ...model, id, uid, version },
      };
      state.dashboards.set(uid, stored);
      return { id, uid, url: `/d/${uid}/${slug(title)}`, status: 'success', version, slug: slug(title) };
    }
    const [selector, uid, ...tail] = rest;
    if (selector !== 'uid' || uid === undefined || tail.length > 0) throw new HttpError(404, 'Not found');
    const dashboard = state.dashboards.get(uid);
    if (!dashboard) throw new HttpError(404, 'Dashboard not found');
    if (method === 'GET') {
      const folder = dashboard.folderUid ? state.folders.get(dashboard.folderUid) : undefined;
      return {
        dashboard: dashboard.model,
        meta: {
          type: 'db',
          canSave: true,
          canEdit: true,
          slug: slug(dashboard.title),
          url: `/d/${uid}/${slug(dashboard.title)}`,
          version: dashboard.version,
          folderId: folder?.id ?? 0,
          folderUid: dashboard.folderUid,
          folderTitle: folder?.title ?? 'General',
          provisioned: false,
        },
      };
    }
    if (method === 'DELETE') {
      state.dashboards.delete(uid);
      return { title: dashboard.title, message: `Dashboard ${dashboard.title} deleted`, id: dashboard.id };
    }
    throw new HttpError(405, 'Method not allowed');
  };

  const search = (query: URLSearchParams, state: FakeOrgState) => {
    const folderUids = query
      .getAll('folderUIDs')
      .flatMap((value) => value.split(','))
      .filter(Boolean);
    const limit = Number(query.get('limit') ?? 1000) || 1000;
    const hits = [...state.dashboards.values()]
      .filter((d) => folderUids.length === 0 || folderUids.includes(d.folderUid))
      .map((d) => ({
        id: d.id,
        uid: d.uid,
        title: d.title,
        type: 'dash-db',
        folderUid: d.folderUid || undefined,
        folderTitle: d.folderUid ? state.folders.get(d.folderUid)?.title : undefined,
      }));
    return hits.slice(0, limit);
  };

  // --------------------------------------------------------------------------------------------- server

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, response, Buffer.concat(chunks).toString('utf8')));
  });

  const handle = (request: IncomingMessage, response: ServerResponse, text: string) => {
    const url = new URL(request.url ?? '/', 'http://fake-grafana');
    let body: unknown;
    let badBody = false;
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        badBody = true;
      }
    }
    const header = request.headers.authorization ?? '';
    const record: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      orgHeader: headerValue(request.headers['x-grafana-org-id']),
      authorization:
        header === '' ? 'none' : /^bearer /i.test(header) ? 'bearer' : /^basic /i.test(header) ? 'basic' : 'other',
      body,
      status: 0,
    };
    requests.push(record);
    const fault = faults.shift();
    if (fault === 'close') {
      request.socket.destroy();
      return;
    }
    if (fault === 'hang') return;
    const send = (status: number, payload: unknown) => {
      record.status = status;
      const json = JSON.stringify(payload);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      response.end(json);
    };
    if (typeof fault === 'number') {
      send(fault, { message: `injected failure (HTTP ${fault})` });
      return;
    }
    try {
      if (url.pathname === '/api/health' && record.method === 'GET') {
        send(200, { commit: 'fake', database: 'ok', version: '12.0.0-fake' });
        return;
      }
      authorize(request);
      const orgId = record.orgHeader === undefined ? 1 : Number(record.orgHeader);
      const state = orgs.get(orgId);
      if (!Number.isInteger(orgId) || !state)
        throw new HttpError(401, `User is not a member of organization ${record.orgHeader}`);
      if (badBody) throw new HttpError(400, 'bad request data');
      send(200, route(record.method, url.pathname, url.searchParams, body, state, orgId));
    } catch (error) {
      if (error instanceof HttpError) send(error.status, { message: error.message, ...error.extra });
      else send(500, { message: `fake Grafana failed: ${error instanceof Error ? error.message : String(error)}` });
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const org1 = orgState(options.orgIds?.[0] ?? 1);

  return {
    url: `http://127.0.0.1:${port}`,
    datasources: org1.datasources,
    dashboards: org1.dashboards,
    folders: org1.folders,
    org: orgState,
    requests,
    writes: (from = 0) => requests.slice(from).filter((r) => r.method !== 'GET'),
    failNext: (count, fault) => {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    seedDatasource: (input, orgId = 1) => {
      const ds: FakeDatasource = {
        id: nextId++,
        orgId,
        type: 'prometheus',
        access: 'proxy',
        url: 'http://seeded.invalid',
        user: '',
        database: '',
        basicAuth: false,
        basicAuthUser: '',
        withCredentials: false,
        isDefault: false,
        jsonData: {},
        secureJsonData: {},
        version: 1,
        readOnly: false,
        ...input,
      };
      orgState(orgId).datasources.set(ds.uid, ds);
      return ds;
    },
    seedDashboard: (input, orgId = 1) => {
      const id = nextId++;
      const dashboard: FakeDashboard = {
        id,
        uid: input.uid,
        orgId,
        title: input.title,
        folderUid: input.folderUid ?? '',
        version: 1,
        model: { ...(input.model ?? {}), id, uid: input.uid, title: input.title, version: 1 },
      };
      orgState(orgId).dashboards.set(input.uid, dashboard);
      return dashboard;
    },
    close: async () => {
      faults.length = 0;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function requireObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'bad request data');
  return value as Record<string, unknown>;
}

function requireString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `bad request data: ${key} is required`);
  return value;
}

function optionalString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  return typeof value === 'string' ? value : '';
}

function objectOr(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? structuredClone(value as Record<string, unknown>)
    : {};
}

function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(objectOr(value))) if (typeof entry === 'string') result[key] = entry;
  return result;
}

function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
