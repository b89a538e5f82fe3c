/**
 * loadlm's operator runtime: a small controller-runtime for client-node 2.x. Start with `Manager`; see each
 * module for the details.
 */
export * from './api-error.ts';
export * from './apply.ts';
export * from './backoff.ts';
export * from './clock.ts';
export * from './conditions.ts';
export * from './controller.ts';
export * from './events.ts';
export * from './health-server.ts';
export * from './informer.ts';
export * from './kube-client.ts';
export * from './kube-config.ts';
export * from './leader-election.ts';
export * from './logger.ts';
export * from './manager.ts';
export * from './metrics.ts';
export * from './object-store.ts';
export * from './reflector.ts';
export * from './resources.ts';
export * from './transforms.ts';
export * from './workqueue.ts';
