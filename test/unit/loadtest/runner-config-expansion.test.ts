// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the runner's ${VAR} syntax is what these tests check
/**
 * Spec text reaches the runner as written: the runner expands `${VAR}` in every config string, and its
 * environment holds the API keys, so the operator escapes every string it copies from the spec. Only its own
 * `api_key: ${LOADLM_API_KEY_<i>}` is expanded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  apiKeyEnvName,
  escapeExpansion,
  renderRunnerConfig,
} from '../../../operator/loadtest/desired/runner-config.ts';
import { expandTree } from '../../../runner/config/expand.ts';
import { resolveRunPlan } from '../../../runner/config/resolve.ts';
import { loadTest } from './fixtures.ts';

const key = 'sk-must-stay-in-the-secret';

describe('runner config: spec strings are not variable references', () => {
  it('sends a model and URL that mention the key variable literally, and still expands api_key', () => {
    const lt = loadTest({
      targets: [
        {
          name: 'guarded',
          url: 'http://vllm.bench.svc:8000/v1?tag=${LOADLM_API_KEY_0}',
          model: 'm-${LOADLM_API_KEY_0}-$${x}-$$${y}',
          api: 'chat',
          stream: true,
          apiKeySecretRef: { name: 'target-key', key: 'token' },
        },
      ],
    });
    const { yaml } = renderRunnerConfig(lt);
    const plan = resolveRunPlan({ configText: yaml, overrides: {}, env: { [apiKeyEnvName(0)]: key } });
    const spec = plan.targets[0]?.spec;
    assert.equal(spec?.model, 'm-${LOADLM_API_KEY_0}-$${x}-$$${y}');
    assert.equal(spec?.url, 'http://vllm.bench.svc:8000/v1?tag=${LOADLM_API_KEY_0}');
    assert.equal(spec?.apiKey, key, 'the operator-written api_key reference is still expanded');
    assert.equal(
      JSON.stringify(plan)
        .replace(/"apiKey":"[^"]*"/, '')
        .includes(key),
      false,
    );
  });

  it('escapeExpansion is undone exactly by the runner expansion, whatever the dollars', () => {
    const texts = ['', 'plain', '${A}', '$${A}', '$$${A}', '${', '$', 'a${b}c${d:-e}', '$$', '}${'];
    for (const text of texts) {
      assert.equal(expandTree(escapeExpansion(text), { A: 'x', b: 'y', d: 'z' }), text, JSON.stringify(text));
    }
    assert.deepEqual(expandTree(escapeExpansion({ a: ['${A}', 1, true, null] }), { A: 'x' }), {
      a: ['${A}', 1, true, null],
    });
  });
});
