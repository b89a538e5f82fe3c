/** The loadlm API: zod schemas (types + validation), CRD generation and status formatting helpers. */
export * from './common.ts';
export * from './crd-meta.ts';
export * from './crds.ts';
export * from './format.ts';
export * from './loadtest.ts';
export * from './observabilitystack.ts';
export * from './render.ts';
export * from './rules.ts';
export * from './to-crd.ts';
export * from './validate.ts';
