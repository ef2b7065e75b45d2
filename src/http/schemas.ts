import { z } from 'zod';
import { ERA_STATUSES } from '../domain/era.js';
import { policySchema } from '../domain/policy/schema.js';
import { problemBody } from '../errors.js';

/** RFC 9457 body every error carries (documented on each route); its shape is src/errors.ts's. */
export const problem = problemBody.meta({ id: 'Problem' });

export const problemResponses = {
  400: problem,
  401: problem,
  403: problem,
  404: problem,
  409: problem,
  429: problem,
  503: problem,
} as const;

/** Exact decimals travel as strings. */
export const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/);

/** The largest value of a PostgreSQL integer column: era numbers, versions and offsets stay below it. */
export const INT4_MAX = 2_147_483_647;

/** An era number in a path or query string (coerced from text). */
export const eraNumber = z.coerce.number().int().min(0).max(INT4_MAX);
/** An era number in a JSON body. */
export const eraNumberField = z.number().int().min(0).max(INT4_MAX);
/** The `:number` path parameter of /v1/eras/{number}/… and /v1/reports/eras/{number}. */
export const eraParams = z.object({ number: eraNumber });

/**
 * A model named in a path: its id, or its name (names match [a-z0-9_]{1,40}, so a name never
 * looks like an id). http/plugins/model-ref.ts turns a name into the id before the handler runs.
 */
export const modelRef = z
  .string()
  .regex(/^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[a-z0-9_]{1,40})$/, {
    message: 'must be a model id (a UUID) or a model name ([a-z0-9_]{1,40})',
  })
  .describe("The model's id, or its name (model names are unique): `/v1/models/my_model/stake` and `/v1/models/<uuid>/stake` are the same model");

/** The `:modelId` path parameter of /v1/models/{modelId}/…. */
export const modelParams = z.object({ modelId: modelRef });

/** A target's name (the era's main target, a target upload, a scores or performance filter). */
export const targetName = z.string().regex(/^[A-Za-z0-9_]{1,64}$/);

export const eraStatus = z.enum(ERA_STATUSES);

/** A policy document's mode, as the policy schema states it. */
export const policyMode = policySchema.shape.mode.unwrap();

/** A policy version named by id, name and version number. */
export const policyRef = z.object({ id: z.uuid(), name: z.string(), version: z.number().int() });
