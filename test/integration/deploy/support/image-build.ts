/**
 * Replays a Dockerfile's build in a temporary directory, without a Docker engine: each stage gets its own root
 * directory; WORKDIR, COPY (from the build context filtered by .dockerignore, or `--from` an earlier stage),
 * ENV, ARG and RUN (`sh -c`, in the mapped WORKDIR) happen as in `docker build`. The base image is modelled as
 * what loadlm's images use of it: `node` and `npm` in /usr/local/bin (Node 24 from node_modules, the host's npm)
 * and a Debian userland (the host's /usr/bin and /bin). RUN commands must use relative paths only, so they act on
 * the stage root; an absolute path is an error rather than a write to the host.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, cp, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { type Dockerfile, expandVariables, type ImageConfig, parseDockerfile, stageConfig } from './dockerfile.ts';
import { isIgnored, parseDockerignore } from './dockerignore.ts';

export interface ReproducedImage {
  /** The final stage's root directory: container path `/x` is `root/x`. */
  root: string;
  config: ImageConfig;
  /** A host path for a container path (`/tmp...` is the writable scratch directory, the rest is the image). */
  hostPath(containerPath: string): string;
  /** The image's environment for a process, paths mapped (PATH entries the image has, the host's otherwise). */
  processEnv(extra?: Record<string, string>): Record<string, string>;
  /** The scratch directory standing for the container's /tmp (an emptyDir in deploy/). */
  scratch: string;
}

export interface ReproduceOptions {
  dockerfile: string;
  context: string;
  /** An empty directory to build in. */
  into: string;
  /** Node 24's binary (the base image's /usr/local/bin/node). */
  nodeBinary: string;
  /** Extra environment for RUN steps (e.g. npm's offline cache settings). */
  buildEnv?: Record<string, string>;
}

/** The host's npm CLI (the base image ships npm too). */
export function hostNpmCli(): string {
  const found = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('npm is not on PATH: the image reproduction needs it for the RUN npm ci step');
  const real = spawnSync('readlink', ['-f', found], { encoding: 'utf8' }).stdout.trim();
  return real || found;
}

async function listContext(context: string, patterns: ReturnType<typeof parseDockerignore>): Promise<Set<string>> {
  const kept = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(join(context, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (!isIgnored(path, patterns)) kept.add(path);
    }
  };
  await walk('');
  return kept;
}

export async function reproduceImage(options: ReproduceOptions): Promise<ReproducedImage> {
  const text = await readFile(options.dockerfile, 'utf8');
  const dockerfile: Dockerfile = parseDockerfile(text);
  const ignore = await readFile(join(options.context, '.dockerignore'), 'utf8').catch(() => '');
  const contextFiles = await listContext(options.context, parseDockerignore(ignore));
  const npmCli = hostNpmCli();
  const roots: string[] = [];
  const scratch = join(options.into, 'scratch');
  await mkdir(scratch, { recursive: true });

  for (const [index, stage] of dockerfile.stages.entries()) {
    const root = join(options.into, `stage-${index}${stage.name ? `-${stage.name}` : ''}`);
    roots.push(root);
    // The base image: node and npm in /usr/local/bin.
    const binDir = join(root, 'usr', 'local', 'bin');
    await mkdir(binDir, { recursive: true });
    await symlink(options.nodeBinary, join(binDir, 'node'));
    await symlink(npmCli, join(binDir, 'npm'));
    const vars = new Map<string, string | undefined>();
    const env = new Map<string, string>([['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']]);
    let workdir = '/';
    const inRoot = (path: string) => join(root, path);
    const resolve = (path: string) => (path.startsWith('/') ? path : `${workdir.replace(/\/$/, '')}/${path}`);

    for (const instruction of stage.instructions) {
      const expand = (value: string) => expandVariables(value, new Map([...vars, ...env]));
      const where = `${options.dockerfile}:${instruction.line}`;
      switch (instruction.kind) {
        case 'ARG':
          vars.set(instruction.name, instruction.default ?? dockerfile.globalArgs.get(instruction.name));
          break;
        case 'ENV':
          for (const [key, value] of instruction.values) env.set(key, expand(value));
          break;
        case 'WORKDIR':
          workdir = resolve(expand(instruction.path));
          await mkdir(inRoot(workdir), { recursive: true });
          break;
        case 'COPY': {
          const destination = resolve(expand(instruction.destination));
          const many = instruction.sources.length > 1 || destination.endsWith('/');
          for (const rawSource of instruction.sources.map(expand)) {
            let from: string;
            if (instruction.from) {
              const fromIndex = dockerfile.stages.findIndex(
                (s, i) => s.name === instruction.from || `${i}` === instruction.from,
              );
              const fromRoot = roots[fromIndex];
              if (fromIndex < 0 || fromIndex >= index || !fromRoot)
                throw new Error(`${where}: no earlier stage "${instruction.from}"`);
              from = join(fromRoot, resolveIn(rawSource));
            } else {
              from = await stageContextSource(options.context, rawSource, contextFiles, where);
            }
            const info = await lstat(from);
            // A directory's contents go into the destination; files go into it when it is a directory.
            const target = inRoot(info.isFile() && many ? join(destination, baseName(rawSource)) : destination);
            if (info.isDirectory() && !instruction.from) {
              await copyContextDir(options.context, rawSource, contextFiles, target);
            } else if (info.isDirectory()) {
              await cp(from, target, { recursive: true, verbatimSymlinks: true, force: true });
            } else {
              await mkdir(join(target, '..'), { recursive: true });
              await cp(from, target, { verbatimSymlinks: true, force: true });
            }
            if (instruction.chmod) await chmod(target, Number.parseInt(instruction.chmod, 8));
          }
          break;
        }
        case 'RUN': {
          const command = expand(instruction.command);
          const absolute = /(?:^|[\s=])\/[A-Za-z]/.exec(command);
          if (absolute) {
            throw new Error(
              `${where}: RUN uses an absolute path (${command}): the reproduction only maps relative paths`,
            );
          }
          const runEnv: Record<string, string> = {
            ...Object.fromEntries([...vars].filter((entry): entry is [string, string] => entry[1] !== undefined)),
            ...Object.fromEntries(env),
            HOME: scratch,
            ...options.buildEnv,
            PATH: mapPath(env.get('PATH') ?? '', root),
          };
          await run('sh', ['-c', command], { cwd: inRoot(workdir), env: runEnv }, where);
          break;
        }
        default:
          break;
      }
    }
  }

  const root = roots.at(-1) as string;
  const config = stageConfig(dockerfile);
  const hostPath = (containerPath: string) =>
    containerPath === '/tmp' || containerPath.startsWith('/tmp/')
      ? join(scratch, containerPath.slice('/tmp'.length))
      : join(root, containerPath);
  return {
    root,
    config,
    scratch,
    hostPath,
    processEnv: (extra = {}) => {
      const out: Record<string, string> = {};
      for (const [key, value] of config.env)
        out[key] = key === 'PATH' ? mapPath(value, root) : mapValue(value, hostPath);
      return { ...out, ...extra };
    },
  };
}

/** Container paths in env values (HOME=/tmp, ...) become host paths. */
function mapValue(value: string, hostPath: (path: string) => string): string {
  return isAbsolute(value) && !value.includes(':') ? hostPath(value) : value;
}

/** PATH entries that exist in the image root point there; the others are the host's (the Debian userland). */
function mapPath(path: string, root: string): string {
  return path
    .split(':')
    .filter(Boolean)
    .map((entry) => {
      const inImage = join(root, entry);
      return spawnSync('test', ['-d', inImage]).status === 0 ? inImage : entry;
    })
    .join(':');
}

function resolveIn(path: string): string {
  return path.startsWith('/') ? path.slice(1) : path;
}

function baseName(path: string): string {
  return path.replace(/\/+$/, '').split('/').pop() ?? path;
}

async function stageContextSource(context: string, source: string, files: Set<string>, where: string): Promise<string> {
  const clean = source.replace(/^\.\//, '').replace(/\/+$/, '');
  if (clean === '..' || clean.startsWith('../'))
    throw new Error(`${where}: COPY ${source} is outside the build context`);
  const present = files.has(clean) || [...files].some((file) => file.startsWith(`${clean}/`));
  if (!present) throw new Error(`${where}: COPY ${source}: not in the build context (missing or .dockerignore'd)`);
  return join(context, clean);
}

/** Copies a context directory's kept files (what .dockerignore leaves) into `target`. */
async function copyContextDir(context: string, source: string, files: Set<string>, target: string): Promise<void> {
  const clean = source.replace(/^\.\//, '').replace(/\/+$/, '');
  for (const file of files) {
    if (!file.startsWith(`${clean}/`)) continue;
    const to = join(target, relative(clean, file));
    await mkdir(join(to, '..'), { recursive: true });
    await cp(join(context, file), to, { verbatimSymlinks: true });
  }
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
  where: string,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${where}: RUN exited ${code}:\n${output.slice(-4000)}`));
    });
  });
}

/** Every file under `dir` with size, mode and mtime: compare two to tell whether anything was written. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (sub: string): Promise<void> => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const path = join(sub, entry.name);
      const info = await lstat(join(dir, path));
      out.set(path, `${info.size}:${info.mode}:${info.mtimeMs}`);
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return out;
}

/** Writes a file readable by the image's user (e.g. a kubeconfig copied into the scratch directory). */
export async function writeForUser(path: string, content: string | Buffer, uid: number, gid: number): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chown(path, uid, gid);
}
