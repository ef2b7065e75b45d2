import { asc, eq, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { models } from './schema.js';

/** A model as stored: its name, its owner's account and when it was made. */
export type ModelRow = typeof models.$inferSelect;

export async function findModel(executor: Executor, modelId: string): Promise<ModelRow | undefined> {
  const [model] = await executor.select().from(models).where(eq(models.id, modelId));
  return model;
}

export async function findModelByName(executor: Executor, name: string): Promise<ModelRow | undefined> {
  const [model] = await executor.select().from(models).where(eq(models.name, name));
  return model;
}

/** Inserts a model; a taken name fails with the unique violation of models_name_key. */
export async function insertModel(executor: Executor, model: { name: string; accountId: string }): Promise<ModelRow> {
  const [row] = await executor.insert(models).values(model).returning();
  return row;
}

/** Every model, or one account's, in name order. */
export async function listModels(executor: Executor, accountId?: string): Promise<ModelRow[]> {
  const query = executor.select().from(models).orderBy(asc(models.name));
  return accountId === undefined ? query : query.where(eq(models.accountId, accountId));
}

/**
 * Locks a model's row for a stake change (NO KEY UPDATE: submissions referencing the model go on)
 * and returns its owner's account, or undefined for no such model.
 */
export async function lockModelForStake(executor: Executor, modelId: string): Promise<string | undefined> {
  const { rows } = await executor.execute<{ account_id: string }>(sql`select account_id from models where id = ${modelId} for no key update`);
  return rows[0]?.account_id;
}
