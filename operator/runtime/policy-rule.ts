/** One RBAC rule the operator needs, with the reason it needs it (rendered as a comment in deploy/ and the chart). */
export interface PolicyRuleWithReason {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  /** Why the operator needs this; one sentence. */
  why: string;
}
