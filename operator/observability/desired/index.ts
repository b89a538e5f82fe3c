/** Pure desired-state functions of the ObservabilityStack controller. */
export * from './datasources.ts';
export * from './grafana-content.ts';
export * from './grafana-operator.ts';
export * from './grafana-sidecar.ts';
export * from './kinds.ts';
export * from './names.ts';
export * from './prometheus-rule.ts';
export * from './service-monitors.ts';
