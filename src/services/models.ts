import { boundedCache } from '../cache.js';
import type { Database, Executor } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import * as ledger from '../db/ledger.js';
import { findModel, findModelByName, insertModel, listModels, type ModelRow } from '../db/models.js';
import { fromUnits, MAX_JSON_NUMBER_DIGITS, readJsonNumber } from '../domain/decimal.js';
import { InsufficientFunds, type StakeFunding } from '../domain/wallet.js';
import { badRequest, conflict, forbidden, insufficientFunds, notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import type { AuditService } from './audit.js';

export type { ModelRow };

export const MODEL_NAME = /^[a-z0-9_]{1,40}$/;

/** Exact decimals: up to 20 integer and 18 fractional digits, never through a float. */
const DECIMAL = /^\d{1,20}(\.\d{1,18})?$/;

/**
 * A stake amount as an exact decimal string ≥ 0. The route hands JSON numbers over as the decimal
 * written (http/exact-json.ts); a number given here directly must read back as itself.
 */
export function parseAmount(amount: string | number): string {
  const field = 'body.amount';
  if (typeof amount === 'number') {
    const written = Number.isFinite(amount) ? readJsonNumber(String(amount)) : null;
    if (!written || written.significantDigits > MAX_JSON_NUMBER_DIGITS) {
      throw badRequest('amount must be sent as a decimal string', [{ path: field, message: `${amount} is not exact as a JSON number; send a decimal string such as "125.5"` }]);
    }
    return parseAmount(written.decimal);
  }
  const text = amount.trim();
  if (/^-\s*\d/.test(text)) {
    throw badRequest('amount must be ≥ 0', [{ path: field, message: `${JSON.stringify(amount)} is negative; a stake is a decimal ≥ 0 (0 withdraws it all)` }]);
  }
  if (!DECIMAL.test(text)) {
    throw badRequest('amount must be a plain decimal ≥ 0', [
      {
        path: field,
        message: `${JSON.stringify(amount).slice(0, 80)} is not a plain decimal ≥ 0: digits with an optional fraction of at most 18 places, no sign, exponent, NaN or Infinity (e.g. "125.5")`,
      },
    ]);
  }
  return text;
}

export function modelsService(db: Database, audit: AuditService, funding: StakeFunding = 'wallet') {
  async function get(modelId: string, executor: Executor = db): Promise<ModelRow> {
    const model = await findModel(executor, modelId);
    if (!model) throw notFound(`model ${modelId} does not exist`);
    return model;
  }

  /** Owners see their models; operators and admins see every model. */
  function assertCanRead(model: ModelRow, who: Principal) {
    if (who.role === 'author' && model.accountId !== who.accountId) throw forbidden(`model ${model.id} belongs to another account`);
  }

  function assertOwner(model: Pick<ModelRow, 'id' | 'accountId'>, who: Principal) {
    if (model.accountId !== who.accountId) throw forbidden(`only the owner of model ${model.id} may do this`);
  }

  /** balance, amount, releasing, at-risk stakes, pending releases and history, from one snapshot. */
  async function stakeView(modelId: string): Promise<ledger.StakeView> {
    return db.transaction(async (tx) => ledger.view(tx, modelId), { isolationLevel: 'repeatable read', accessMode: 'read only' });
  }

  // Each model's owning account, for the ingest path's ownership check.
  const owners = boundedCache<string, string>({
    max: 100_000,
    staleness: 'owners never change and models are never deleted, so an entry cannot go stale',
  });

  // Model names to ids, for paths that name a model.
  const idsByName = boundedCache<string, string>({
    max: 100_000,
    staleness: 'a model keeps its name and is never deleted, so a name always names the same id',
  });

  return {
    get,
    assertCanRead,

    /**
     * The id of the model a path names, by id or by name (a name matches MODEL_NAME, an id never
     * does). An id is returned as given: whatever uses it says 404 when no model has it.
     */
    async idOf(ref: string): Promise<string> {
      if (!MODEL_NAME.test(ref)) return ref;
      let id = idsByName.get(ref);
      if (!id) {
        const model = await findModelByName(db, ref);
        if (!model) throw notFound(`no model is named ${ref}`);
        id = model.id;
        idsByName.set(ref, id);
      }
      return id;
    },

    /** 404 without the model, 403 unless the caller owns it; the owner is cached for the ingest path. */
    async assertOwns(who: Principal, modelId: string): Promise<void> {
      let accountId = owners.get(modelId);
      if (!accountId) {
        accountId = (await get(modelId)).accountId;
        owners.set(modelId, accountId);
      }
      assertOwner({ id: modelId, accountId }, who);
    },
    assertOwner,

    async create(who: Principal, name: string): Promise<ModelRow> {
      if (!MODEL_NAME.test(name)) {
        throw badRequest('invalid model name', [{ path: 'body.name', message: `${JSON.stringify(name)} must match [a-z0-9_]{1,40}` }]);
      }
      try {
        return await insertModel(db, { name, accountId: who.accountId });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`a model named ${name} already exists`);
        throw error;
      }
    },

    async list(who: Principal): Promise<ModelRow[]> {
      return listModels(db, who.role === 'author' ? who.accountId : undefined);
    },

    async getReadable(modelId: string, who: Principal): Promise<ModelRow> {
      const model = await get(modelId);
      assertCanRead(model, who);
      return model;
    },

    /**
     * Sets the model's amount (docs/stakes.md): raising it is a deposit paid from the owner's
     * wallet (409 insufficient funds when it is short, nothing changed), lowering it a pending
     * release that waits for the eras the stake is at risk in. Replies with the stake view.
     */
    async setStake(who: Principal, modelId: string, amount: string | number): Promise<ledger.StakeView> {
      const value = parseAmount(amount);
      assertOwner(await get(modelId), who);
      try {
        await db.transaction(async (tx) => ledger.changeAmount(tx, modelId, value, funding));
      } catch (error) {
        if (error instanceof InsufficientFunds) throw insufficientFunds(fromUnits(error.available), fromUnits(error.needed), 'lower the stake');
        throw error;
      }
      return stakeView(modelId);
    },

    stake: stakeView,
  };
}

export type ModelsService = ReturnType<typeof modelsService>;
