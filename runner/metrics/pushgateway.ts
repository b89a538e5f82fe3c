/**
 * Optional Pushgateway export for runs outside the cluster: the whole registry is PUT (replacing the group)
 * every `intervalSeconds` and once more at the end, under job `loadlm` and a grouping key that tells
 * runners apart (`instance` = host name, plus `loadtest` and `environment` when set).
 */
import { hostname } from 'node:os';
import { Pushgateway, type Registry } from 'prom-client';

export interface PushgatewayOptions {
  url: string;
  intervalSeconds: number;
  grouping: Record<string, string>;
  timeoutMs?: number;
  /** Push failures are reported here, never thrown: a missing gateway must not fail the load test. */
  onError(message: string): void;
}

export interface MetricsPusher {
  /** Pushes once now (resolves when done or failed). */
  push(): Promise<boolean>;
  /** Stops the periodic pushes and does a final push. */
  stop(): Promise<void>;
}

export const pushgatewayJob = 'loadlm';

export function startPushing(registry: Registry, options: PushgatewayOptions): MetricsPusher {
  const gateway = new Pushgateway(options.url, { timeout: options.timeoutMs ?? 10_000 }, registry);
  const groupings = { instance: hostname(), ...options.grouping };
  let chain: Promise<boolean> = Promise.resolve(true);
  const pushOnce = (): Promise<boolean> => {
    // Serialise pushes so a slow gateway never sees two PUTs of the same group at once.
    chain = chain.then(async () => {
      try {
        const { resp } = await gateway.push({ jobName: pushgatewayJob, groupings });
        const status = (resp as { statusCode?: number } | undefined)?.statusCode ?? 0;
        if (status >= 300) {
          options.onError(`pushgateway ${redactUrl(options.url)} answered HTTP ${status}`);
          return false;
        }
        return true;
      } catch (err) {
        options.onError(`pushgateway ${redactUrl(options.url)}: ${(err as Error).message}`);
        return false;
      }
    });
    return chain;
  };
  const timer =
    options.intervalSeconds > 0 ? setInterval(() => void pushOnce(), options.intervalSeconds * 1000) : undefined;
  timer?.unref();
  return {
    push: pushOnce,
    stop: async () => {
      if (timer) clearInterval(timer);
      await pushOnce();
    },
  };
}

/** Drops user:password from a URL before it goes into a message. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = 'REDACTED';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
