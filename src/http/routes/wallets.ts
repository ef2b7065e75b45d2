import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WALLET_ENTRY_KINDS } from '../../domain/wallet.js';
import type { WalletsService } from '../../services/wallets.js';
import { ANY_KEY, requirePrincipal, STAFF } from '../plugins/auth.js';
import { exactJsonNumbers } from '../exact-json.js';
import { decimalString, freeText, fundsProblem, moneyAmount, problemResponses } from '../schemas.js';

const wallet = z
  .object({
    balance: decimalString,
    held: decimalString,
    available: decimalString,
    entries: z.array(
      z.object({
        at: z.date(),
        kind: z.enum(WALLET_ENTRY_KINDS as [string, ...string[]]),
        delta: decimalString,
        balance: decimalString,
        modelId: z.uuid().nullable(),
        withdrawalId: z.uuid().nullable(),
        reference: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'Wallet' });

const WITHDRAWAL_STATUSES = ['pending', 'completed', 'rejected'] as const;

const withdrawal = z
  .object({
    id: z.uuid(),
    accountId: z.uuid(),
    amount: decimalString,
    status: z.enum(WITHDRAWAL_STATUSES),
    requestedAt: z.date(),
    decidedAt: z.date().nullable(),
    decidedBy: z.uuid().nullable(),
    reference: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: 'Withdrawal' });

const amountField = moneyAmount('movement');
const reference = freeText('the outside payment');
const AMOUNT_TEXT =
  '`amount` is an exact decimal > 0 with at most 18 decimal places: a string such as "125.5", or a JSON number with at most 15 significant digits.';
const WALLET_TEXT =
  '`balance` is all the wallet holds, including what pending withdrawals hold (`held`); `available` = balance − held is what stakes and new ' +
  'withdrawals may use. `entries` is its ledger, oldest first: every movement with its signed `delta` and the balance after it — `credit` ' +
  '(from staff, `reference` naming the outside payment), `stake` (a raise of `modelId`\'s stake), `unstake` (a released stake coming back), ' +
  '`withdrawal_held` and `withdrawal_released` (delta 0: a withdrawal requested, rejected), `withdrawn` (a completed withdrawal). Every amount is an exact decimal string.';

const accountParams = z.object({ id: z.uuid() });
const withdrawalParams = z.object({ id: z.uuid() });

export const walletRoutes: FastifyPluginAsyncZod<{ wallets: WalletsService }> = async (app, { wallets }) => {
  app.get(
    '/v1/me/wallet',
    {
      config: { access: ANY_KEY },
      schema: { tags: ['wallets'], summary: "The caller's wallet: balance, held, available and its entries", description: WALLET_TEXT, response: { 200: wallet, ...problemResponses } },
    },
    async (request) => wallets.view(requirePrincipal(request)),
  );

  app.get(
    '/v1/accounts/:id/wallet',
    {
      config: { access: STAFF },
      schema: { tags: ['wallets'], summary: "An account's wallet; operators and admins", description: WALLET_TEXT, params: accountParams, response: { 200: wallet, ...problemResponses } },
    },
    async (request) => wallets.viewAccount(requirePrincipal(request), request.params.id),
  );

  app.get(
    '/v1/withdrawals',
    {
      config: { access: STAFF },
      schema: {
        tags: ['wallets'],
        summary: 'Withdrawals, oldest first (`status=pending` for the queue to decide); operators and admins',
        querystring: z.strictObject({
          status: z.enum(WITHDRAWAL_STATUSES).optional(),
          accountId: z.uuid().optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
        response: { 200: z.object({ withdrawals: z.array(withdrawal) }), ...problemResponses },
      },
    },
    async (request) => ({ withdrawals: await wallets.listWithdrawals(requirePrincipal(request), request.query) }),
  );

  app.post(
    '/v1/withdrawals/:id/reject',
    {
      config: { access: STAFF },
      schema: {
        tags: ['wallets'],
        summary: 'Reject a pending withdrawal: its hold ends and the money stays in the wallet; operators and admins, not on their own',
        params: withdrawalParams,
        body: z.strictObject({ reason: freeText('why it is rejected') }),
        response: { 200: withdrawal, ...problemResponses },
      },
    },
    async (request) => wallets.reject(requirePrincipal(request), request.params.id, request.body.reason),
  );

  app.post(
    '/v1/withdrawals/:id/complete',
    {
      config: { access: STAFF },
      schema: {
        tags: ['wallets'],
        summary: 'Complete a pending withdrawal once the money is paid out: it leaves the wallet; operators and admins, not on their own',
        description: '`reference` names the outside payment.',
        params: withdrawalParams,
        body: z.strictObject({ reference }),
        response: { 200: withdrawal, ...problemResponses },
      },
    },
    async (request) => wallets.complete(requirePrincipal(request), request.params.id, request.body.reference),
  );

  // Money: JSON numbers in this scope arrive as the exact decimal written, never through a float.
  await app.register(async (scope) => {
    exactJsonNumbers(scope);
    const typed = scope.withTypeProvider<ZodTypeProvider>();
    typed.post(
      '/v1/accounts/:id/wallet/credits',
      {
        config: { access: STAFF },
        schema: {
          tags: ['wallets'],
          summary: "Credit an account's wallet with money paid in from outside; operators and admins, audited",
          description: `${AMOUNT_TEXT} \`reference\` names the outside payment. Replies with the wallet.`,
          params: accountParams,
          body: z.strictObject({ amount: amountField, reference }),
          response: { 201: wallet, ...problemResponses },
        },
      },
      async (request, reply) => reply.status(201).send(await wallets.credit(requirePrincipal(request), request.params.id, request.body)),
    );

    typed.post(
      '/v1/me/wallet/withdrawals',
      {
        config: { access: ['author'] },
        schema: {
          tags: ['wallets'],
          summary: "Ask to withdraw money from the caller's wallet: pending, holding its amount, until staff complete or reject it",
          description: `${AMOUNT_TEXT} At most the wallet's \`available\`; above it: 409 insufficient funds.`,
          body: z.strictObject({ amount: amountField }),
          response: { 201: withdrawal, ...problemResponses },
        },
      },
      async (request, reply) => {
        try {
          return reply.status(201).send(await wallets.requestWithdrawal(requirePrincipal(request), request.body));
        } catch (error) {
          throw fundsProblem(error, 'withdraw less');
        }
      },
    );
  });
};
