/**
 * Images stand for local programs: each mapped image gives the ENTRYPOINT/CMD (and optionally WORKDIR, ENV and
 * the programs on its PATH) that the executor runs on the host. "Host" images run their command with the host's
 * PATH, as if the image were the host's userland (e.g. busybox: `sh -c ...`).
 */
import type { Container } from './types.ts';

export interface ImageSpec {
  /** The image's ENTRYPOINT as a host argv, e.g. `[process.execPath, '/repo/runner/main.ts']`. */
  entrypoint: string[];
  /** The image's CMD, appended to the entrypoint unless the pod sets `args`. */
  cmd?: string[];
  /** The image's WORKDIR; defaults to the pod's own directory. */
  cwd?: string;
  /** The image's ENV, below the pod's env. */
  env?: Record<string, string>;
  /** Programs on the image's PATH: when a pod's `command[0]` names one, it is replaced by this host argv. */
  binaries?: Record<string, string[]>;
}

/** Image repository (no tag or digest) → what it runs. */
export type ImageMap = Record<string, ImageSpec>;

const hostImageSpec: ImageSpec = { entrypoint: [], cmd: ['sh'] };

/** `reg:5000/a/b:1.2@sha256:…` → `reg:5000/a/b`. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
}

/** Docker Hub's implicit prefixes do not matter: `docker.io/library/busybox` and `busybox` are the same image. */
function canonicalRepository(repository: string): string {
  return repository.replace(/^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\//, '');
}

export function findImage(
  image: string | undefined,
  images: ImageMap,
  hostImages: readonly string[],
): ImageSpec | undefined {
  if (!image) return undefined;
  const wanted = canonicalRepository(imageRepository(image));
  for (const [repository, spec] of Object.entries(images)) {
    if (canonicalRepository(imageRepository(repository)) === wanted) return spec;
  }
  if (hostImages.some((host) => canonicalRepository(imageRepository(host)) === wanted)) return hostImageSpec;
  return undefined;
}

/**
 * The argv a container runs, by Kubernetes' rules: `command` replaces the ENTRYPOINT, `args` replace the CMD, and
 * both undergo `$(VAR)` expansion with the container's environment.
 */
export function containerArgv(spec: ImageSpec, container: Container, expand: (text: string) => string): string[] {
  const head = container.command ? container.command.map(expand) : spec.entrypoint;
  const tail = container.args ? container.args.map(expand) : container.command ? [] : (spec.cmd ?? []);
  const argv = [...head, ...tail];
  const program = argv[0];
  const replacement = program === undefined ? undefined : spec.binaries?.[program];
  return replacement ? [...replacement, ...argv.slice(1)] : argv;
}
