import { asc, desc, eq, sql } from 'drizzle-orm';
import type { Database, Executor } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { models, stakeEvents } from '../db/schema.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { Principal } from './accounts.js';
import type { AuditService } from './audit.js';

export type ModelRow = typeof models.$inferSelect;

export const MODEL_NAME = /^[a-z0-9_]{1,40}$/;

/** Exact decimals: up to 20 integer and 18 fractional digits, never through a float. */
const DECIMAL = /^\d{1,20}(\.\d{1,18})?$/;

/** Accepts a decimal string, or a JSON number only when its shortest form is a plain decimal. */
export function parseAmount(amount: string | number): string {
  const text = typeof amount === 'number' ? String(amount) : amount.trim();
  if (!DECIMAL.test(text)) {
    throw badRequest('amount must be a decimal ≥ 0', [
      { path: 'body.amount', message: `${JSON.stringify(amount)} is not a plain decimal ≥ 0 (e.g. "125.5"; at most 18 decimals)` },
    ]);
  }
  return text;
}

export function modelsService(db: Database, audit: AuditService) {
  async function get(modelId: string, executor: Executor = db): Promise<ModelRow> {
    const [model] = await executor.select().from(models).where(eq(models.id, modelId));
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

  async function currentStake(modelId: string, executor: Executor = db): Promise<string> {
    const [last] = await executor
      .select({ balance: stakeEvents.balance })
      .from(stakeEvents)
      .where(eq(stakeEvents.modelId, modelId))
      .orderBy(desc(stakeEvents.id))
      .limit(1);
    return last?.balance ?? '0';
  }

  // Owners never change and models are never deleted, so this cache cannot go stale.
  const owners = new Map<string, string>();
  const OWNER_CACHE_SIZE = 100_000;

  return {
    get,
    assertCanRead,

    /** 404 without the model, 403 unless the caller owns it; the owner is cached for the ingest path. */
    async assertOwns(who: Principal, modelId: string): Promise<void> {
      let accountId = owners.get(modelId);
      if (!accountId) {
        accountId = (await get(modelId)).accountId;
        if (owners.size >= OWNER_CACHE_SIZE) owners.delete(owners.keys().next().value!);
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
        const [model] = await db.insert(models).values({ name, accountId: who.accountId }).returning();
        return model;
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`a model named ${name} already exists`);
        throw error;
      }
    },

    async list(who: Principal): Promise<ModelRow[]> {
      const query = db.select().from(models).orderBy(asc(models.name));
      return who.role === 'author' ? query.where(eq(models.accountId, who.accountId)) : query;
    },

    async getReadable(modelId: string, who: Principal): Promise<ModelRow> {
      const model = await get(modelId);
      assertCanRead(model, who);
      return model;
    },

    async setStake(who: Principal, modelId: string, amount: string | number) {
      const value = parseAmount(amount);
      return db.transaction(async (tx) => {
        // Row lock: concurrent stake changes of one model apply one after the other.
        const [model] = await tx.select().from(models).where(eq(models.id, modelId)).for('update');
        if (!model) throw notFound(`model ${modelId} does not exist`);
        assertOwner(model, who);
        const previous = await currentStake(modelId, tx);
        const [event] = await tx
          .insert(stakeEvents)
          .values({ modelId, kind: 'set', balance: value, delta: sql`${value}::numeric - ${previous}::numeric` })
          .returning();
        return { modelId, amount: event.balance };
      });
    },

    async stake(modelId: string) {
      const history = await db
        .select({ kind: stakeEvents.kind, delta: stakeEvents.delta, balance: stakeEvents.balance, era: stakeEvents.eraNumber, at: stakeEvents.at })
        .from(stakeEvents)
        .where(eq(stakeEvents.modelId, modelId))
        .orderBy(asc(stakeEvents.id));
      return { modelId, amount: history.at(-1)?.balance ?? '0', history };
    },
  };
}

export type ModelsService = ReturnType<typeof modelsService>;
