/**
 * Where the apiserver is and how to authenticate, without loading @kubernetes/client-node (importing it costs
 * about 50 MB of RSS: 2,700 generated models). Covers what an operator meets: the in-cluster service account
 * (token re-read every minute, as it rotates), and kubeconfig files with client certificates, tokens, token
 * files or basic auth. Kubeconfigs that need exec plugins or auth providers are handed to client-node, loaded
 * only then.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface ClusterConnection {
  /** e.g. `https://10.0.0.1:443` */
  server: string;
  tls: TlsSettings;
  /** Headers that authenticate a request (fresh: tokens rotate). */
  authHeaders(): Promise<Record<string, string>>;
  /** The namespace of the context or of the service account, if known. */
  namespace?: string;
  /** Where it came from, for logs (never credentials). */
  source: string;
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';
const tokenRereadMs = 60_000;

/**
 * The usual lookup: an explicit kubeconfig path, else $KUBECONFIG (first file), else the in-cluster service
 * account, else ~/.kube/config.
 */
export async function loadConnection(
  options: { kubeconfig?: string; context?: string } = {},
): Promise<ClusterConnection> {
  const fromEnv = process.env.KUBECONFIG?.split(':').find(Boolean);
  const path = options.kubeconfig ?? fromEnv;
  if (path) return connectionFromKubeconfig(path, options.context);
  if (process.env.KUBERNETES_SERVICE_HOST) return inClusterConnection();
  const home = join(homedir(), '.kube', 'config');
  try {
    readFileSync(home);
  } catch {
    throw new Error(
      'no Kubernetes configuration: not running in a cluster (KUBERNETES_SERVICE_HOST is unset), KUBECONFIG is ' +
        `unset and ${home} does not exist`,
    );
  }
  return connectionFromKubeconfig(home, options.context);
}

/** The pod's service account: KUBERNETES_SERVICE_HOST/PORT, its token (re-read every minute) and CA. */
export function inClusterConnection(dir = serviceAccountDir): ClusterConnection {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('in-cluster config: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const token = rereadingFile(join(dir, 'token'));
  let namespace: string | undefined;
  try {
    namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim();
  } catch {
    namespace = undefined;
  }
  return {
    server: `https://${hostPart}:${port}`,
    tls: { ca: readRequired(join(dir, 'ca.crt'), 'in-cluster CA') },
    authHeaders: async () => ({ authorization: `Bearer ${token()}` }),
    ...(namespace ? { namespace } : {}),
    source: 'in-cluster service account',
  };
}

interface KubeconfigFile {
  'current-context'?: string;
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
}

/** A kubeconfig file's current (or given) context. Exec plugins and auth providers go through client-node. */
export async function connectionFromKubeconfig(path: string, contextName?: string): Promise<ClusterConnection> {
  const text = readRequired(path, 'kubeconfig').toString('utf8');
  let config: KubeconfigFile;
  try {
    config = parse(text) as KubeconfigFile;
  } catch (error) {
    throw new Error(`kubeconfig ${path}: not valid YAML: ${(error as Error).message}`);
  }
  const name = contextName ?? config['current-context'];
  if (!name) throw new Error(`kubeconfig ${path}: no current-context (pass a context name)`);
  const context = config.contexts?.find((candidate) => candidate.name === name)?.context;
  if (!context) throw new Error(`kubeconfig ${path}: context "${name}" not found`);
  const cluster = config.clusters?.find((candidate) => candidate.name === context.cluster)?.cluster;
  if (!cluster) throw new Error(`kubeconfig ${path}: cluster "${context.cluster}" of context "${name}" not found`);
  const user = config.users?.find((candidate) => candidate.name === context.user)?.user ?? {};
  if (user.exec || user['auth-provider']) return viaClientNode(path, name, context.namespace);

  const base = dirname(path);
  const file = (key: string) => {
    const value = cluster[key] ?? user[key];
    return typeof value === 'string' ? readRequired(isAbsolute(value) ? value : join(base, value), key) : undefined;
  };
  const data = (key: string) => {
    const value = cluster[key] ?? user[key];
    return typeof value === 'string' ? Buffer.from(value, 'base64') : undefined;
  };
  const server = cluster.server;
  if (typeof server !== 'string' || !server)
    throw new Error(`kubeconfig ${path}: cluster "${context.cluster}" has no server`);
  const tls: TlsSettings = {};
  const ca = data('certificate-authority-data') ?? file('certificate-authority');
  if (ca) tls.ca = ca;
  const cert = data('client-certificate-data') ?? file('client-certificate');
  if (cert) tls.cert = cert;
  const key = data('client-key-data') ?? file('client-key');
  if (key) tls.key = key;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];

  let authHeaders: () => Promise<Record<string, string>> = async () => ({});
  if (typeof user.token === 'string') {
    const header = { authorization: `Bearer ${user.token}` };
    authHeaders = async () => header;
  } else if (typeof user.tokenFile === 'string') {
    const token = rereadingFile(isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile));
    authHeaders = async () => ({ authorization: `Bearer ${token()}` });
  } else if (typeof user.username === 'string') {
    const header = {
      authorization: `Basic ${Buffer.from(`${user.username}:${String(user.password ?? '')}`).toString('base64')}`,
    };
    authHeaders = async () => header;
  }
  return {
    server,
    tls,
    authHeaders,
    ...(context.namespace ? { namespace: context.namespace } : {}),
    source: `kubeconfig ${path}, context ${name}`,
  };
}

/** A connection backed by a client-node KubeConfig (any auth it supports; headers refreshed by it). */
export async function connectionFromClientNode(
  kubeConfig: KubeConfig,
  source = 'client-node KubeConfig',
): Promise<ClusterConnection> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig: no current cluster (check current-context)');
  if (cluster.proxyUrl) throw new Error('kubeconfig: clusters with proxy-url are not supported by the operator');
  const options: import('node:https').RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const tls: TlsSettings = {};
  if (options.ca) tls.ca = Buffer.from(options.ca as string | Buffer);
  if (options.cert) tls.cert = Buffer.from(options.cert as string | Buffer);
  if (options.key) tls.key = Buffer.from(options.key as string | Buffer);
  if (options.rejectUnauthorized !== undefined) tls.rejectUnauthorized = options.rejectUnauthorized;
  if (options.servername) tls.servername = options.servername;
  return {
    server: cluster.server,
    tls,
    authHeaders: async () => {
      const fresh: import('node:https').RequestOptions = {};
      await kubeConfig.applyToHTTPSOptions(fresh);
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(fresh.headers ?? {})) {
        if (typeof value === 'string') headers[key.toLowerCase()] = value;
      }
      if (fresh.auth) headers.authorization = `Basic ${Buffer.from(fresh.auth).toString('base64')}`;
      return headers;
    },
    source,
  };
}

async function viaClientNode(path: string, context: string, namespace: string | undefined): Promise<ClusterConnection> {
  const { KubeConfig: KubeConfigClass } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfigClass();
  kubeConfig.loadFromFile(path);
  kubeConfig.setCurrentContext(context);
  const connection = await connectionFromClientNode(
    kubeConfig,
    `kubeconfig ${path}, context ${context} (via client-node)`,
  );
  return namespace ? { ...connection, namespace } : connection;
}

/** Returns the file's trimmed content, read again at most once a minute. */
function rereadingFile(path: string): () => string {
  let value = '';
  let readAt = Number.NEGATIVE_INFINITY;
  return () => {
    const now = Date.now();
    if (now - readAt >= tokenRereadMs) {
      value = readRequired(path, 'token file').toString('utf8').trim();
      readAt = now;
    }
    return value;
  };
}

function readRequired(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(
      `${what}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}
