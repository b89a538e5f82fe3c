import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  type CustomResourceDefinition,
  loadTestCrd,
  observabilityStackCrd,
  renderAll,
  type StructuralSchema,
} from '../../../api/index.ts';
import { repoRoot } from './cases.ts';

interface Visit {
  path: string;
  node: StructuralSchema;
}

/** Every schema node with its path (`.spec.targets[].name`, `.spec.runner.nodeSelector[*]`). */
function walk(node: StructuralSchema, path = ''): Visit[] {
  const out: Visit[] = [{ path, node }];
  for (const [name, child] of Object.entries(node.properties ?? {})) out.push(...walk(child, `${path}.${name}`));
  if (node.items) out.push(...walk(node.items, `${path}[]`));
  if (node.additionalProperties) out.push(...walk(node.additionalProperties, `${path}[*]`));
  return out;
}

function rootOf(crd: CustomResourceDefinition): StructuralSchema {
  const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
  assert.ok(schema, 'the CRD has a schema');
  return schema;
}

function part(crd: CustomResourceDefinition, name: 'spec' | 'status'): StructuralSchema {
  const schema = rootOf(crd).properties?.[name];
  assert.ok(schema, `the CRD has ${name}`);
  return schema;
}

const crds = [loadTestCrd(), observabilityStackCrd()];

for (const crd of crds) {
  describe(`${crd.metadata.name}`, () => {
    it('is structural: a type on every node, no forbidden keywords, unions only as int-or-string', () => {
      const forbidden = [
        '$ref',
        '$schema',
        'oneOf',
        'allOf',
        'not',
        'nullable',
        'propertyNames',
        'patternProperties',
        'const',
      ];
      for (const { path, node } of walk(rootOf(crd))) {
        const raw = node as Record<string, unknown>;
        for (const keyword of forbidden) assert.equal(raw[keyword], undefined, `${path}: ${keyword}`);
        assert.notEqual(typeof raw.additionalProperties, 'boolean', `${path}: additionalProperties must be a schema`);
        assert.ok(!(node.properties && node.additionalProperties), `${path}: properties with additionalProperties`);
        if (node['x-kubernetes-int-or-string']) {
          assert.equal(node.type, undefined, `${path}: int-or-string has no type`);
          assert.deepEqual(node.anyOf, [{ type: 'integer' }, { type: 'string' }], `${path}: int-or-string anyOf`);
          continue;
        }
        assert.equal(node.anyOf, undefined, `${path}: anyOf outside int-or-string`);
        if (node['x-kubernetes-preserve-unknown-fields'] && node.type === undefined) continue;
        assert.ok(node.type, `${path}: missing type`);
        if (node.type === 'array') assert.ok(node.items && !Array.isArray(node.items), `${path}: items`);
      }
    });

    it('has no floats: no `type: number` in spec (nor in status)', () => {
      for (const name of ['spec', 'status'] as const) {
        for (const { path, node } of walk(part(crd, name))) {
          assert.notEqual(node.type, 'number', `.${name}${path} is a float`);
        }
      }
    });

    it('describes every field (kubectl explain)', () => {
      for (const name of ['spec', 'status'] as const) {
        const missing = walk(part(crd, name))
          .filter(({ path }) => !path.endsWith('[]') && !path.endsWith('[*]'))
          .filter(({ node }) => !node.description)
          .map(({ path }) => `.${name}${path}`);
        assert.deepEqual(missing, []);
      }
    });

    it('states every scalar default in the description (kubectl explain does not show defaults)', () => {
      for (const { path, node } of walk(part(crd, 'spec'))) {
        if (node.default === undefined || typeof node.default === 'object') continue;
        const shown = typeof node.default === 'string' ? `\`${node.default}\`` : String(node.default);
        assert.ok(node.description?.endsWith(`Default ${shown}.`), `.spec${path}: "${node.description}"`);
      }
    });

    it('bounds every list, string and map in spec, so CEL cost estimation passes', () => {
      for (const { path, node } of walk(part(crd, 'spec'))) {
        if (node.type === 'array') assert.ok(node.maxItems !== undefined, `.spec${path}: maxItems`);
        if (node.type === 'string' && !node.enum) assert.ok(node.maxLength !== undefined, `.spec${path}: maxLength`);
        if (node['x-kubernetes-int-or-string']) assert.ok(node.maxLength !== undefined, `.spec${path}: maxLength`);
        if (node.additionalProperties) assert.ok(node.maxProperties !== undefined, `.spec${path}: maxProperties`);
        assert.ok(!node['x-kubernetes-preserve-unknown-fields'], `.spec${path}: free-form fields have no bounds`);
      }
    });

    it('keys list-type map items by required fields', () => {
      for (const { path, node } of walk(rootOf(crd))) {
        if (node['x-kubernetes-list-type'] !== 'map') continue;
        for (const key of node['x-kubernetes-list-map-keys'] ?? []) {
          assert.ok(node.items?.required?.includes(key), `${path}: map key ${key} is required`);
        }
      }
    });

    it('points every rule fieldPath at a field of its node', () => {
      for (const { path, node } of walk(rootOf(crd))) {
        for (const rule of node['x-kubernetes-validations'] ?? []) {
          if (!rule.fieldPath) continue;
          const segments = rule.fieldPath.split('.').slice(1);
          let target: StructuralSchema | undefined = node;
          for (const segment of segments) target = target?.properties?.[segment];
          const isMetadata = path === '' && segments[0] === 'metadata';
          assert.ok(target || isMetadata, `${path}: fieldPath ${rule.fieldPath} of "${rule.rule}"`);
          assert.ok(rule.message.length > 0, `${path}: a message for "${rule.rule}"`);
        }
      }
    });

    it('resolves every printer column to a schema field', () => {
      const columns = crd.spec.versions[0]?.additionalPrinterColumns ?? [];
      for (const column of columns) {
        if (column.jsonPath === '.metadata.creationTimestamp') continue;
        const segments = column.jsonPath
          .replace(/\[\?\([^\]]*\)\]|\[\*\]|\[\d+\]/g, '.[]')
          .split('.')
          .filter((segment) => segment !== '');
        let node: StructuralSchema | undefined = rootOf(crd);
        for (const segment of segments) node = segment === '[]' ? node?.items : node?.properties?.[segment];
        assert.ok(node, `${column.name}: ${column.jsonPath}`);
        if (column.type === 'integer') assert.equal(node.type, 'integer', `${column.name} is an integer field`);
      }
    });

    it('has the status subresource, short names and the loadlm category', () => {
      assert.deepEqual(crd.spec.versions[0]?.subresources, { status: {} });
      assert.deepEqual(crd.spec.names.categories, ['loadlm']);
      assert.equal(crd.spec.names.shortNames.length, 1);
    });
  });
}

describe('LoadTest CRD', () => {
  const crd = loadTestCrd();

  it('shows the designed columns, Target and Model only in wide output', () => {
    const columns = crd.spec.versions[0]?.additionalPrinterColumns ?? [];
    assert.deepEqual(
      columns.filter((column) => !column.priority).map((column) => column.name),
      ['Phase', 'Profile', 'Runners', 'Progress', 'TTFT-P95', 'TPOT-P95', 'Req/s', 'Tok/s', 'Errors', 'Age'],
    );
    assert.deepEqual(
      columns.filter((column) => column.priority === 1).map((column) => column.name),
      ['Target', 'Model'],
    );
    assert.deepEqual(crd.spec.names.shortNames, ['lt']);
  });

  it('makes the spec immutable with a transition rule', () => {
    const rules = part(crd, 'spec')['x-kubernetes-validations'] ?? [];
    assert.ok(rules.some((rule) => rule.rule === 'self == oldSelf'));
  });

  it('writes request rates as int-or-string, not as floats', () => {
    const rate = part(crd, 'spec').properties?.load?.properties?.rate;
    assert.equal(rate?.['x-kubernetes-int-or-string'], true);
    assert.equal(rate?.minimum, 1);
    assert.ok(rate?.pattern);
  });
});

describe('ObservabilityStack CRD', () => {
  const crd = observabilityStackCrd();

  it('keeps the spec mutable (a long-lived configuration object)', () => {
    const rules = part(crd, 'spec')['x-kubernetes-validations'] ?? [];
    assert.ok(!rules.some((rule) => rule.rule.includes('oldSelf')));
    assert.match(part(crd, 'spec').description ?? '', /may be changed/);
    assert.deepEqual(crd.spec.names.shortNames, ['obs']);
  });
});

describe('generated files', () => {
  it('crds/ and docs/reference/ are up to date (run npm run generate)', () => {
    for (const [path, content] of renderAll()) {
      const committed = readFileSync(join(repoRoot, path), 'utf8');
      assert.ok(committed === content, `${path} is stale: run npm run generate`);
    }
  });

  // kubectl and the apiserver read YAML 1.1, where a bare `off`, `no` or `yes` is a boolean.
  for (const [file, crd] of [
    ['crds/loadlm.dev_loadtests.yaml', loadTestCrd],
    ['crds/loadlm.dev_observabilitystacks.yaml', observabilityStackCrd],
  ] as const) {
    it(`${file} parses back to the rendered object under YAML 1.1 and 1.2`, () => {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      const expected = JSON.parse(JSON.stringify(crd()));
      assert.deepEqual(parse(text, { version: '1.1' }), expected);
      assert.deepEqual(parse(text), expected);
    });
  }
});
