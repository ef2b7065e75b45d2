import type { PolicyDocument } from '../domain/policy/index.js';
import type { Principal } from './accounts.js';
import type { PoliciesDeps } from './policies/deps.js';
import { preview, replay } from './policies/preview.js';
import { activePolicies, changelog, diffVersions, documentWarnings, getPolicy, listPolicies, versionForEra } from './policies/read.js';
import { activatePolicy, createPolicy, rejectPolicy, withdrawPolicy } from './policies/write.js';

export type { PolicyRow } from '../db/policies.js';
export { storedDocument, type ActivationState, type PolicyStatus, type PolicyView } from '../domain/policy/activation.js';
export type { PolicyInForce as PolicyVersion } from '../domain/policy/apply-to-run.js';
export type { OpenEraMetaModel, PoliciesDeps } from './policies/deps.js';
export { activationState, versionForEra } from './policies/read.js';

/**
 * Exclusion policies (docs/policies.md), one use case per function in services/policies/: reading
 * (read.ts), writing a version's history (write.ts: create, activate, withdraw, reject) and what a
 * version would do (preview.ts: preview, replay). Each takes the part of the deps it uses.
 */
export function policiesService(deps: PoliciesDeps) {
  return {
    get: (id: string) => getPolicy(deps.db, id),
    create: (who: Principal, document: PolicyDocument) => createPolicy(deps, who, document),
    list: (filter: { name?: string } = {}) => listPolicies(deps, filter),
    activate: (who: Principal, id: string, reason: string, fromEra?: number) => activatePolicy(deps, who, id, reason, fromEra),
    withdraw: (who: Principal, id: string) => withdrawPolicy(deps, who, id),
    reject: (who: Principal, id: string, reason: string) => rejectPolicy(deps, who, id, reason),
    active: () => activePolicies(deps),
    versionForEra,
    diff: (id: string, against: string) => diffVersions(deps, id, against),
    changelog: () => changelog(deps),
    warnings: (document: PolicyDocument) => documentWarnings(deps, document),
    replay: (id: string, lastEras: number) => replay(deps, id, lastEras),
    preview: (id: string, eraNumbers: readonly number[]) => preview(deps, id, eraNumbers),
  };
}

export type PoliciesService = ReturnType<typeof policiesService>;
