/** One readiness probe attempt (httpGet, tcpSocket or exec), judged as the kubelet judges it. */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container, Probe } from './types.ts';

export interface ProbeContext {
  podIP: string;
  container: Container;
  env: Record<string, string>;
  cwd: string;
}

export async function probeOnce(probe: Probe, context: ProbeContext): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const get = probe.httpGet;
    const port = resolvePort(get.port, context.container);
    const scheme = get.scheme === 'HTTPS' ? 'https' : 'http';
    const url = new URL(`${scheme}://${get.host || context.podIP}:${port}`);
    url.pathname = get.path ?? '/';
    return httpProbe(url, get.httpHeaders ?? [], timeoutMs);
  }
  if (probe.tcpSocket) {
    return tcpProbe(
      probe.tcpSocket.host || context.podIP,
      resolvePort(probe.tcpSocket.port, context.container),
      timeoutMs,
    );
  }
  if (probe.exec?.command?.length) return execProbe(probe.exec.command, context, timeoutMs);
  return false;
}

function resolvePort(port: number | string, container: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`probe port "${port}" names no port of container ${container.name}`);
  return named.containerPort;
}

function httpProbe(url: URL, headers: { name: string; value: string }[], timeoutMs: number): Promise<boolean> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(url, {
      method: 'GET',
      headers: Object.fromEntries([['User-Agent', 'kube-probe/1.34'], ...headers.map((h) => [h.name, h.value])]),
      // The kubelet does not verify probe certificates.
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function execProbe(command: string[], context: ProbeContext, timeoutMs: number): Promise<boolean> {
  const [program, ...args] = command;
  if (!program) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(program, args, { cwd: context.cwd, env: context.env, stdio: 'ignore', timeout: timeoutMs });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}
