import { boundedCache, type Cache } from '../cache.js';
import type { Database, Executor } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import * as ledger from '../db/ledger.js';
import { findModel, findModelByName, insertModel, listModels, type ModelRow } from '../db/models.js';
import type { StakeFunding } from '../domain/wallet.js';
import { MODEL_NAME } from '../domain/names.js';
import { conflict, forbidden, notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import { changeAmount } from './settlement.js';

export type { ModelRow };
export type StakeView = ledger.StakeView;


export interface ModelsDeps {
  db: Database;
  /** how a stake raise is paid for (STAKE_FUNDING) */
  funding: StakeFunding;
  /** each model's owning account, for the ingest path's ownership check */
  owners: Cache<string, string>;
  /** model names to ids, for paths that name a model */
  idsByName: Cache<string, string>;
}

/** 404 for no such model. */
export async function getModel(deps: Pick<ModelsDeps, 'db'>, modelId: string, executor: Executor = deps.db): Promise<ModelRow> {
  const model = await findModel(executor, modelId);
  if (!model) throw notFound(`model ${modelId} does not exist`);
  return model;
}

/** Owners see their models; operators and admins see every model. */
export function assertCanRead(model: Pick<ModelRow, 'id' | 'accountId'>, who: Principal) {
  if (who.role === 'author' && model.accountId !== who.accountId) throw forbidden(`model ${model.id} belongs to another account`);
}

/** Only the owner changes a model, whatever its role. */
export function assertOwner(model: Pick<ModelRow, 'id' | 'accountId'>, who: Principal) {
  if (model.accountId !== who.accountId) throw forbidden(`only the owner of model ${model.id} may do this`);
}

/** 404 without the model, 403 unless the caller may read it. */
export async function getReadable(deps: Pick<ModelsDeps, 'db'>, who: Principal, modelId: string): Promise<ModelRow> {
  const model = await getModel(deps, modelId);
  assertCanRead(model, who);
  return model;
}

/**
 * The id of the model a path names, by id or by name (a name matches MODEL_NAME, an id never
 * does). An id is returned as given: whatever uses it says 404 when no model has it.
 */
export async function idOf(deps: Pick<ModelsDeps, 'db' | 'idsByName'>, ref: string): Promise<string> {
  if (!MODEL_NAME.test(ref)) return ref;
  let id = deps.idsByName.get(ref);
  if (!id) {
    const model = await findModelByName(deps.db, ref);
    if (!model) throw notFound(`no model is named ${ref}`);
    id = model.id;
    deps.idsByName.set(ref, id);
  }
  return id;
}

/** 404 without the model, 403 unless the caller owns it; the owner is cached for the ingest path. */
export async function assertOwns(deps: Pick<ModelsDeps, 'db' | 'owners'>, who: Principal, modelId: string): Promise<void> {
  let accountId = deps.owners.get(modelId);
  if (!accountId) {
    accountId = (await getModel(deps, modelId)).accountId;
    deps.owners.set(modelId, accountId);
  }
  assertOwner({ id: modelId, accountId }, who);
}

/** Registers a model for the caller (an author); 409 when the name is taken. The route checks the name's form (MODEL_NAME). */
export async function createModel(deps: Pick<ModelsDeps, 'db'>, who: Principal, name: string): Promise<ModelRow> {
  if (!MODEL_NAME.test(name)) throw new RangeError(`a model name matches ${MODEL_NAME.source}`);
  try {
    return await insertModel(deps.db, { name, accountId: who.accountId });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`a model named ${name} already exists`);
    throw error;
  }
}

/** An author's models; every model for operators and admins. */
export async function listVisible(deps: Pick<ModelsDeps, 'db'>, who: Principal): Promise<ModelRow[]> {
  return listModels(deps.db, who.role === 'author' ? who.accountId : undefined);
}

/** balance, amount, releasing, at-risk stakes, pending releases and history, from one snapshot; 403 unless the caller may read the model. */
export async function stakeOf(deps: Pick<ModelsDeps, 'db'>, who: Principal, modelId: string): Promise<StakeView> {
  await getReadable(deps, who, modelId);
  return deps.db.transaction(async (tx) => ledger.view(tx, modelId), { isolationLevel: 'repeatable read', accessMode: 'read only' });
}

/**
 * Sets the model's amount (units ≥ 0, docs/stakes.md): raising it is a deposit paid from the
 * owner's wallet (InsufficientFunds, from domain/wallet.ts, when it is short: nothing changed),
 * lowering it a pending release that waits for the eras the stake is at risk in. The owner only.
 * Returns the stake view.
 */
export async function setStake(deps: Pick<ModelsDeps, 'db' | 'funding'>, who: Principal, modelId: string, amount: bigint): Promise<StakeView> {
  if (amount < 0n) throw new RangeError('a stake amount is never negative');
  assertOwner(await getModel(deps, modelId), who);
  await deps.db.transaction(async (tx) => changeAmount(tx, modelId, amount, deps.funding));
  return stakeOf(deps, who, modelId);
}

/** The models service over its dependencies; the caches live as long as it does. */
export function modelsService(deps: Pick<ModelsDeps, 'db'> & Partial<Pick<ModelsDeps, 'funding'>>) {
  const all: ModelsDeps = {
    db: deps.db,
    funding: deps.funding ?? 'wallet',
    owners: boundedCache<string, string>({
      max: 100_000,
      staleness: 'owners never change and models are never deleted, so an entry cannot go stale',
    }),
    idsByName: boundedCache<string, string>({
      max: 100_000,
      staleness: 'a model keeps its name and is never deleted, so a name always names the same id',
    }),
  };
  return {
    get: (modelId: string, executor?: Executor) => getModel(all, modelId, executor),
    assertCanRead,
    assertOwner,
    idOf: (ref: string) => idOf(all, ref),
    assertOwns: (who: Principal, modelId: string) => assertOwns(all, who, modelId),
    create: (who: Principal, name: string) => createModel(all, who, name),
    list: (who: Principal) => listVisible(all, who),
    getReadable: (modelId: string, who: Principal) => getReadable(all, who, modelId),
    setStake: (who: Principal, modelId: string, amount: bigint) => setStake(all, who, modelId, amount),
    stake: (who: Principal, modelId: string) => stakeOf(all, who, modelId),
  };
}

export type ModelsService = ReturnType<typeof modelsService>;
