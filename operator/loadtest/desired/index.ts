/** Desired objects of a LoadTest: pure functions from the LoadTest to objects ready for server-side apply. */
export * from './handoff-objects.ts';
export * from './kube-types.ts';
export * from './names.ts';
export * from './plan.ts';
export * from './references.ts';
export * from './resources.ts';
export * from './runner-config.ts';
export * from './runner-job.ts';
export * from './runner-rbac.ts';
export * from './runner-service.ts';
