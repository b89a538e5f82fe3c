import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  datasourceModels,
  datasourceUid,
  duplicateUids,
  planDatasources,
} from '../../../operator/observability/desired/datasources.ts';
import { environment, stackOf } from './stack-fixtures.ts';

describe('datasource planning', () => {
  it('derives uids from environment and cluster, else the name, within Grafana limits', () => {
    assert.equal(
      datasourceUid({ name: 'staging', cluster: 'rag-ray-staging' }, 'x'),
      'staging-rag-ray-staging-prometheus',
    );
    assert.equal(datasourceUid({ cluster: 'c1' }, 'x'), 'c1-prometheus');
    assert.equal(datasourceUid(undefined, 'prometheus-dev'), 'prometheus-dev');
    const odd = datasourceUid(undefined, 'Prometheus (dev) #1');
    assert.match(odd, /^Prometheus-dev-1-[0-9a-f]{8}$/);
    const long = datasourceUid({ name: 'a'.repeat(40), cluster: 'b'.repeat(40) }, 'x');
    assert.equal(long.length, 40);
    assert.notEqual(long, datasourceUid({ name: 'a'.repeat(40), cluster: 'c'.repeat(40) }, 'x'));
  });

  it('adds the local Prometheus (prometheus.url) as default unless a listed one is default or the same', () => {
    const local = planDatasources(
      stackOf({ environment, prometheus: { url: 'http://prom:9090' }, grafana: { mode: 'sidecar' } }),
    );
    assert.deepEqual(local, [
      {
        uid: 'development-rag-ray-dev-prometheus',
        name: 'prometheus-rag-ray-dev',
        url: 'http://prom:9090',
        isDefault: true,
      },
    ]);
    const listed = planDatasources(
      stackOf({
        environment,
        prometheus: { url: 'http://prom:9090' },
        grafana: {
          mode: 'sidecar',
          datasources: [{ name: 'staging', url: 'https://s', isDefault: true, labels: { name: 'staging' } }],
        },
      }),
    );
    assert.deepEqual(
      listed.map((plan) => [plan.uid, plan.isDefault]),
      [
        ['development-rag-ray-dev-prometheus', false],
        ['staging-prometheus', true],
      ],
    );
    const same = planDatasources(
      stackOf({
        environment,
        prometheus: { url: 'http://prom:9090' },
        grafana: {
          mode: 'sidecar',
          datasources: [{ name: 'dev', url: 'https://d', labels: { name: 'development', cluster: 'rag-ray-dev' } }],
        },
      }),
    );
    assert.deepEqual(
      same.map((plan) => plan.name),
      ['dev'],
    );
  });

  it('finds uids derived twice', () => {
    const plans = planDatasources(
      stackOf({
        environment,
        grafana: {
          mode: 'sidecar',
          datasources: [
            { name: 'a', url: 'https://a', labels: { cluster: 'x' } },
            { name: 'b', url: 'https://b', labels: { cluster: 'x' } },
          ],
        },
      }),
    );
    assert.deepEqual(duplicateUids(plans), ['x-prometheus']);
  });

  it('joins credentials in as a bearer header or basic auth, and refuses unresolved ones', () => {
    const plans = planDatasources(
      stackOf({
        environment,
        grafana: {
          mode: 'api',
          api: { url: 'https://g', credentialsSecretRef: { name: 'g', tokenKey: 't' } },
          datasources: [
            { name: 'token', url: 'https://a', authSecretRef: { name: 's', tokenKey: 'token' } },
            { name: 'basic', url: 'https://b', authSecretRef: { name: 's', usernameKey: 'u', passwordKey: 'p' } },
            { name: 'open', url: 'https://c' },
          ],
        },
      }),
    );
    const models = datasourceModels(
      plans,
      new Map([
        ['token', { token: 'T' }],
        ['basic', { username: 'U', password: 'P' }],
      ]),
    );
    assert.deepEqual(models[0]?.jsonData, { httpMethod: 'POST', httpHeaderName1: 'Authorization' });
    assert.deepEqual(models[0]?.secureJsonData, { httpHeaderValue1: 'Bearer T' });
    assert.equal(models[1]?.basicAuth, true);
    assert.equal(models[1]?.basicAuthUser, 'U');
    assert.deepEqual(models[1]?.secureJsonData, { basicAuthPassword: 'P' });
    assert.equal(models[2]?.secureJsonData, undefined);
    assert.equal(models[2]?.access, 'proxy');
    assert.throws(() => datasourceModels(plans, new Map()), /datasource token: credentials were not resolved/);
  });
});
