import { z } from 'zod';
import { amountRefusalMessage, fromUnits, PLAIN_DECIMAL, parseAmount, type AmountKind } from '../domain/decimal.js';
import { ERA_STATUSES } from '../domain/era.js';
import { MODEL_NAME_SHAPE, MODEL_REF, TARGET_NAME, TARGET_NAME_SHAPE } from '../domain/names.js';
import { INT4_MAX } from '../domain/page-cursor.js';
import { InsufficientFunds } from '../domain/wallet.js';
import { policySchema } from '../domain/policy/schema.js';
import { insufficientFunds, problemBody } from '../errors.js';

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

/** Exact decimals travel as strings (domain/decimal.ts's grammar). */
export const decimalString = z.string().regex(PLAIN_DECIMAL);

/**
 * A money amount in a request body, read by domain/decimal.ts `parseAmount` into units of 10⁻¹⁸:
 * a decimal string, or a JSON number with at most 15 significant digits (in an exactJsonNumbers
 * scope numbers arrive as the decimal written). A refusal names the field and the form expected.
 */
export const moneyAmount = (kind: AmountKind) =>
  z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      const read = parseAmount(value, kind);
      if (read.ok) return read.units;
      ctx.addIssue({ code: 'custom', message: amountRefusalMessage(value, kind, read.refusal), input: value });
      return z.NEVER;
    })
    .describe(`an exact decimal ${kind === 'stake' ? '≥ 0' : '> 0'} with at most 18 decimal places: a string such as "125.5", or a JSON number with at most 15 significant digits`);

/** A wallet short of an amount (domain/wallet.ts) as the 409 naming the body's amount; `instead` is what else the caller may do. */
export function fundsProblem(error: unknown, instead: string): unknown {
  return error instanceof InsufficientFunds ? insufficientFunds(fromUnits(error.available), fromUnits(error.needed), instead) : error;
}

/** Free text a person writes (a reference, a reason): trimmed, 1–500 characters. */
export const freeText = (what: string) =>
  z
    .string()
    .trim()
    .min(1, { message: `give 1 to 500 characters naming ${what}` })
    .max(500, { message: `give 1 to 500 characters naming ${what}` });

/** The largest value of a PostgreSQL integer column: era numbers, versions and offsets stay below it. */
export { INT4_MAX } from '../domain/page-cursor.js';

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
  .regex(MODEL_REF, {
    message: `must be a model id (a UUID) or a model name (${MODEL_NAME_SHAPE})`,
  })
  .describe("The model's id, or its name (model names are unique): `/v1/models/my_model/stake` and `/v1/models/<uuid>/stake` are the same model");

/** The `:modelId` path parameter of /v1/models/{modelId}/…. */
export const modelParams = z.object({ modelId: modelRef });

/** A target's name (the era's main target, a target upload, a scores or performance filter). */
export const targetName = z.string().regex(TARGET_NAME, { message: `a target name is ${TARGET_NAME_SHAPE}` });

export const eraStatus = z.enum(ERA_STATUSES);

/** A policy document's mode, as the policy schema states it. */
export const policyMode = policySchema.shape.mode.unwrap();

/** A policy version named by id, name and version number. */
export const policyRef = z.object({ id: z.uuid(), name: z.string(), version: z.number().int() });
