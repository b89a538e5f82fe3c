import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DockerfileError,
  expandVariables,
  logicalLines,
  parseDockerfile,
  splitWords,
  stageConfig,
} from '../../integration/deploy/support/dockerfile.ts';
import { isIgnored, parseDockerignore } from '../../integration/deploy/support/dockerignore.ts';

const sample = `# syntax=docker/dockerfile:1
ARG BASE=node:24-slim
FROM \${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci \\
 # a comment inside a continuation is dropped
 && echo done
COPY --from=build --chmod=0755 /app/bin ./bin

FROM \${BASE}
ARG VERSION=1.2.3
LABEL org.opencontainers.image.version="\${VERSION}" \\
      org.opencontainers.image.title="two words"
ENV HOME=/tmp PATH=/app/bin:/usr/bin
ENV LEGACY value with spaces
WORKDIR /app
WORKDIR sub
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["loadlm"]
CMD ["--help"]
`;

describe('Dockerfile parser', () => {
  it('joins continuations and drops comments, keeping the first line number', () => {
    const lines = logicalLines(sample);
    const run = lines.find((line) => line.text.startsWith('RUN'));
    assert.equal(run?.text, 'RUN npm ci && echo done');
    assert.equal(run?.line, 6);
  });

  it('splits words with quotes and escapes', () => {
    assert.deepEqual(splitWords(`a="b c" 'd e' f\\ g`, 1), ['a=b c', 'd e', 'f g']);
    assert.throws(() => splitWords('a="b', 3), /line 3: unterminated " quote/);
  });

  it('parses stages, COPY options and global ARGs', () => {
    const parsed = parseDockerfile(sample);
    assert.equal(parsed.globalArgs.get('BASE'), 'node:24-slim');
    assert.equal(parsed.stages.length, 2);
    assert.equal(parsed.stages[0]?.name, 'build');
    const copies = parsed.stages[0]?.instructions.filter((instruction) => instruction.kind === 'COPY');
    assert.deepEqual(copies?.[0], {
      kind: 'COPY',
      line: 5,
      sources: ['package.json', 'package-lock.json'],
      destination: './',
    });
    assert.deepEqual(copies?.[1], {
      kind: 'COPY',
      line: 9,
      from: 'build',
      chmod: '0755',
      sources: ['/app/bin'],
      destination: './bin',
    });
  });

  it('computes the final image config with ARG and ENV expansion', () => {
    const config = stageConfig(parseDockerfile(sample));
    assert.equal(config.base, 'node:24-slim');
    assert.equal(config.labels.get('org.opencontainers.image.version'), '1.2.3');
    assert.equal(config.labels.get('org.opencontainers.image.title'), 'two words');
    assert.equal(config.env.get('HOME'), '/tmp');
    assert.equal(config.env.get('LEGACY'), 'value with spaces');
    assert.equal(config.workdir, '/app/sub');
    assert.equal(config.user, '65532:65532');
    assert.deepEqual(config.exposed, ['8080', '9090']);
    assert.deepEqual(config.entrypoint, ['loadlm']);
    assert.deepEqual(config.cmd, ['--help']);
  });

  it('turns shell-form ENTRYPOINT into sh -c', () => {
    const config = stageConfig(parseDockerfile('FROM x\nENTRYPOINT exec node main.ts\n'));
    assert.deepEqual(config.entrypoint, ['/bin/sh', '-c', 'exec node main.ts']);
  });

  it('expands $VAR, braced variables, defaults and alternatives', () => {
    const vars = new Map([
      ['A', 'a'],
      ['EMPTY', ''],
    ]);
    // Built with String.raw so the Dockerfile syntax is not mistaken for a template literal.
    const text = String.raw`$A-${'$'}{A}-${'$'}{B:-b}-${'$'}{A:+yes}-${'$'}{EMPTY:+no}-\$A`;
    assert.equal(expandVariables(text, vars), 'a-a-b-yes--$A');
  });

  it('rejects what it does not understand, naming the line', () => {
    assert.throws(
      () => parseDockerfile('RUN x\n'),
      (error: Error) => {
        assert.ok(error instanceof DockerfileError);
        assert.match(error.message, /line 1: RUN before the first FROM/);
        return true;
      },
    );
    assert.throws(
      () => parseDockerfile('FROM x\nHEALTHCHECK CMD true\n'),
      /line 2: instruction HEALTHCHECK is not supported/,
    );
    assert.throws(() => parseDockerfile('FROM x\nCOPY --parents a b\n'), /line 2: COPY option --parents/);
    assert.throws(() => parseDockerfile('FROM x\nENTRYPOINT [1]\n'), /array of strings/);
    assert.throws(() => parseDockerfile('# nothing\n'), /no FROM/);
    assert.throws(() => parseDockerfile('FROM x\nRUN a \\\n'), /continuation/);
  });
});

describe('.dockerignore matcher', () => {
  const patterns = parseDockerignore(`# allowlist
*
!api/
!runner
**/*.md
**/*.test.ts
!runner/KEEP.md
`);

  it('excludes everything not re-included, and re-included directories with their contents', () => {
    assert.equal(isIgnored('package.json', patterns), true);
    assert.equal(isIgnored('test/unit/a.test.ts', patterns), true);
    assert.equal(isIgnored('api/loadtest.ts', patterns), false);
    assert.equal(isIgnored('runner/cli/main.ts', patterns), false);
  });

  it('applies ** across directories and lets the last match win', () => {
    assert.equal(isIgnored('runner/README.md', patterns), true);
    assert.equal(isIgnored('runner/deep/x.test.ts', patterns), true);
    assert.equal(isIgnored('runner/KEEP.md', patterns), false);
  });

  it('keeps * and ? within one path segment', () => {
    const single = parseDockerignore('docs/*.md\na?c');
    assert.equal(isIgnored('docs/a.md', single), true);
    assert.equal(isIgnored('docs/sub/a.md', single), false);
    assert.equal(isIgnored('abc', single), true);
    assert.equal(isIgnored('a/c', single), false);
  });
});
