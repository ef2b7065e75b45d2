import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { PoliciesService } from '../../services/policies.js';
// First: its imports name the exposure components before the policy ones, keeping the OpenAPI document's component order.
import { previewPolicy } from './policies/preview.js';
import { activatePolicy } from './policies/activate.js';
import { activePolicy } from './policies/active.js';
import { policyChangelog } from './policies/changelog.js';
import { createPolicy } from './policies/create.js';
import { policyDiff } from './policies/diff.js';
import { getPolicy, listPolicies } from './policies/list.js';
import { rejectPolicy } from './policies/reject.js';
import { replayPolicy } from './policies/replay.js';
import { withdrawPolicy } from './policies/withdraw.js';

/** The policy routes, one file each under policies/ (schemas beside their handler), in the order the API docs list them. */
export const policyRoutes: FastifyPluginAsyncZod<{ policies: PoliciesService }> = async (app, options) => {
  for (const routes of [createPolicy, listPolicies, activePolicy, policyChangelog, policyDiff, getPolicy, withdrawPolicy, activatePolicy, rejectPolicy, previewPolicy, replayPolicy]) {
    await app.register(routes, options);
  }
};
