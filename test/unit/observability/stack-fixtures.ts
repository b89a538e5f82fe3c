/** ObservabilityStacks for the renderer unit tests: parsed through the API schema, so defaults apply. */
import { ObservabilityStack, type ObservabilityStackSpecInput } from '../../../api/observabilitystack.ts';

export function stackOf(spec: ObservabilityStackSpecInput, name = 'dev', namespace = 'apps'): ObservabilityStack {
  return ObservabilityStack.parse({
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'ObservabilityStack',
    metadata: { name, namespace, uid: '11111111-2222-3333-4444-555555555555' },
    spec,
  });
}

export const environment = { name: 'development', provider: 'akamai-lke', cluster: 'rag-ray-dev', region: 'us-ord' };
