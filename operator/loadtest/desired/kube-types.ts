/**
 * The parts of the Kubernetes objects the LoadTest controller renders and reads, as they travel on the wire
 * (timestamps are RFC 3339 strings). Only fields this controller uses are typed; objects from the apiserver
 * carry more.
 */
import type { KubeObject, ObjectMeta, OwnerReference } from '../../runtime/resources.ts';

export type { KubeObject, ObjectMeta, OwnerReference };

/** metadata with the fields a rendered object always has. */
export interface RenderedMeta extends ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ownerReferences: OwnerReference[];
}

export interface ConfigMap extends KubeObject {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: RenderedMeta;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface ResourceList {
  [resource: string]: string | number;
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name: string; containerPort: number; protocol: 'TCP' }[];
  readinessProbe?: Probe;
  resources?: { requests?: ResourceList; limits?: ResourceList };
  securityContext?: Record<string, unknown>;
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface Volume {
  name: string;
  emptyDir?: { sizeLimit?: string };
  configMap?: { name: string; items?: { key: string; path: string }[] };
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface PodSpec {
  restartPolicy: 'Never';
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  terminationGracePeriodSeconds: number;
  securityContext?: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  priorityClassName?: string;
  imagePullSecrets?: { name: string }[];
  containers: Container[];
  volumes?: Volume[];
}

export interface Job extends KubeObject {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: RenderedMeta;
  spec: {
    completionMode: 'Indexed';
    completions: number;
    parallelism: number;
    backoffLimit: number;
    activeDeadlineSeconds: number;
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: PodSpec;
    };
  };
}

export interface Service extends KubeObject {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: RenderedMeta;
  spec: {
    clusterIP: 'None';
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: string; protocol: 'TCP' }[];
  };
}

export interface ServiceAccount extends KubeObject {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: RenderedMeta;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface Role extends KubeObject {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'Role';
  metadata: RenderedMeta;
  rules: PolicyRule[];
}

export interface RoleBinding extends KubeObject {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'RoleBinding';
  metadata: RenderedMeta;
  roleRef: { apiGroup: 'rbac.authorization.k8s.io'; kind: 'Role'; name: string };
  subjects: { kind: 'ServiceAccount'; name: string; namespace: string }[];
}

// ------------------------------------------------------------------------------------- observed objects

export interface ContainerStateWaiting {
  reason?: string;
  message?: string;
}

export interface ContainerStateTerminated {
  exitCode: number;
  reason?: string;
  message?: string;
  signal?: number;
  startedAt?: string;
  finishedAt?: string;
}

export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount?: number;
  image?: string;
  started?: boolean;
  state?: {
    waiting?: ContainerStateWaiting;
    running?: { startedAt?: string };
    terminated?: ContainerStateTerminated;
  };
  lastState?: ContainerStatus['state'];
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** A runner pod as the Job controller creates it and a kubelet (or the test pod executor) reports it. */
export interface Pod extends KubeObject {
  metadata: ObjectMeta & { name: string };
  spec?: {
    nodeName?: string;
    containers?: { name: string; image?: string; resources?: { limits?: ResourceList } }[];
  };
  status?: {
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
    reason?: string;
    message?: string;
    conditions?: PodCondition[];
    containerStatuses?: ContainerStatus[];
    podIP?: string;
    startTime?: string;
  };
}

export interface JobCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** A runner Job as the Job controller reports it. */
export interface ObservedJob extends KubeObject {
  metadata: ObjectMeta & { name: string };
  spec?: { completions?: number; parallelism?: number; activeDeadlineSeconds?: number };
  status?: {
    active?: number;
    ready?: number;
    succeeded?: number;
    failed?: number;
    terminating?: number;
    completedIndexes?: string;
    failedIndexes?: string;
    startTime?: string;
    completionTime?: string;
    conditions?: JobCondition[];
  };
}
