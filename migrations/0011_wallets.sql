-- Wallets: stakes backed by money (docs/stakes.md, "Wallets"; src/db/wallets.ts writes them).
-- - withdrawals: an author's request to take money out; pending until staff complete or reject it,
--   decided once (a guard trigger), never deleted.
-- - wallet_entries: one row per movement of an account's wallet (credit, stake, unstake,
--   withdrawal_held, withdrawal_released, withdrawn) with its signed delta and the balance and
--   held amount after it. Chained like stake_entries (migration 0004): each entry names the one
--   before it by a foreign key and a check makes balance = prev_balance + delta, so the balance is
--   Σ delta by constraint; balance ≥ 0 and 0 ≤ held ≤ balance are checks, the table is append-only,
--   and a deferred trigger checks at commit that held equals what the account's pending
--   withdrawals hold.
-- - the upgrade: each account's stakes so far become wallet history, so no balance moves and money
--   is conserved: an opening credit of what its models were deposited, staked into them; what
--   was released from them before wallets existed left the tournament, so it comes back to the
--   wallet and leaves again as a completed withdrawal. Every wallet ends at 0.
CREATE TABLE "withdrawals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"amount" numeric NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"requested_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"decided_at" timestamp with time zone,
	"decided_by" uuid,
	"reference" text,
	"reason" text,
	CONSTRAINT "withdrawals_amount_check" CHECK ("withdrawals"."amount" > 0),
	CONSTRAINT "withdrawals_status_check" CHECK ("withdrawals"."status" in ('pending', 'completed', 'rejected')),
	CONSTRAINT "withdrawals_decision_check" CHECK (("withdrawals"."status" = 'pending') = ("withdrawals"."decided_at" IS NULL)
      AND ("withdrawals"."status" <> 'completed' OR "withdrawals"."reference" IS NOT NULL)
      AND ("withdrawals"."status" <> 'rejected' OR "withdrawals"."reason" IS NOT NULL))
);--> statement-breakpoint
ALTER TABLE "withdrawals" ADD CONSTRAINT "withdrawals_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "withdrawals" ADD CONSTRAINT "withdrawals_decided_by_accounts_id_fk" FOREIGN KEY ("decided_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "withdrawals_pending_idx" ON "withdrawals" USING btree ("requested_at") WHERE "withdrawals"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "withdrawals_account_idx" ON "withdrawals" USING btree ("account_id");--> statement-breakpoint
CREATE FUNCTION "withdrawal_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.account_id <> OLD.account_id OR NEW.amount <> OLD.amount
     OR NEW.requested_at <> OLD.requested_at OR OLD.status <> 'pending' THEN
    RAISE EXCEPTION 'a withdrawal is decided once and otherwise never changes' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "withdrawals_guard" BEFORE UPDATE OR DELETE ON "withdrawals"
  FOR EACH ROW EXECUTE FUNCTION "withdrawal_guard"();--> statement-breakpoint
CREATE TRIGGER "withdrawals_no_truncate" BEFORE TRUNCATE ON "withdrawals"
  FOR EACH STATEMENT EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE TABLE "wallet_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"kind" text NOT NULL,
	"delta" numeric NOT NULL,
	"balance" numeric NOT NULL,
	"held" numeric NOT NULL,
	"prev_seq" integer,
	"prev_balance" numeric,
	"prev_held" numeric,
	"model_id" uuid,
	"withdrawal_id" uuid,
	"reference" text,
	"at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	CONSTRAINT "wallet_entries_kind_check" CHECK ("wallet_entries"."kind" in ('credit', 'stake', 'unstake', 'withdrawal_held', 'withdrawal_released', 'withdrawn')),
	CONSTRAINT "wallet_entries_balance_check" CHECK ("wallet_entries"."balance" >= 0 AND "wallet_entries"."held" >= 0 AND "wallet_entries"."held" <= "wallet_entries"."balance"),
	CONSTRAINT "wallet_entries_chain_check" CHECK (("wallet_entries"."seq" = 1 AND "wallet_entries"."prev_seq" IS NULL AND "wallet_entries"."prev_balance" IS NULL AND "wallet_entries"."prev_held" IS NULL
        AND "wallet_entries"."balance" = "wallet_entries"."delta" AND "wallet_entries"."held" = 0 AND "wallet_entries"."kind" = 'credit')
      OR ("wallet_entries"."seq" > 1 AND "wallet_entries"."prev_seq" = "wallet_entries"."seq" - 1 AND "wallet_entries"."prev_balance" IS NOT NULL AND "wallet_entries"."prev_held" IS NOT NULL
        AND "wallet_entries"."balance" = "wallet_entries"."prev_balance" + "wallet_entries"."delta")),
	CONSTRAINT "wallet_entries_movement_check" CHECK (CASE "wallet_entries"."kind"
      WHEN 'credit' THEN "wallet_entries"."delta" > 0 AND "wallet_entries"."held" = coalesce("wallet_entries"."prev_held", 0) AND "wallet_entries"."reference" IS NOT NULL AND "wallet_entries"."withdrawal_id" IS NULL
      WHEN 'stake' THEN "wallet_entries"."delta" < 0 AND "wallet_entries"."held" = "wallet_entries"."prev_held" AND "wallet_entries"."model_id" IS NOT NULL AND "wallet_entries"."withdrawal_id" IS NULL
      WHEN 'unstake' THEN "wallet_entries"."delta" > 0 AND "wallet_entries"."held" = "wallet_entries"."prev_held" AND "wallet_entries"."model_id" IS NOT NULL AND "wallet_entries"."withdrawal_id" IS NULL
      WHEN 'withdrawal_held' THEN "wallet_entries"."delta" = 0 AND "wallet_entries"."held" > "wallet_entries"."prev_held" AND "wallet_entries"."withdrawal_id" IS NOT NULL
      WHEN 'withdrawal_released' THEN "wallet_entries"."delta" = 0 AND "wallet_entries"."held" < "wallet_entries"."prev_held" AND "wallet_entries"."withdrawal_id" IS NOT NULL
      WHEN 'withdrawn' THEN "wallet_entries"."delta" < 0 AND "wallet_entries"."held" = "wallet_entries"."prev_held" + "wallet_entries"."delta" AND "wallet_entries"."withdrawal_id" IS NOT NULL
    END)
);--> statement-breakpoint
ALTER TABLE "wallet_entries" ADD CONSTRAINT "wallet_entries_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wallet_entries" ADD CONSTRAINT "wallet_entries_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wallet_entries" ADD CONSTRAINT "wallet_entries_withdrawal_id_withdrawals_id_fk" FOREIGN KEY ("withdrawal_id") REFERENCES "public"."withdrawals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "wallet_entries_account_seq_key" ON "wallet_entries" USING btree ("account_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "wallet_entries_chain_key" ON "wallet_entries" USING btree ("account_id","seq","balance","held");--> statement-breakpoint
ALTER TABLE "wallet_entries" ADD CONSTRAINT "wallet_entries_previous_fk" FOREIGN KEY ("account_id","prev_seq","prev_balance","prev_held") REFERENCES "public"."wallet_entries"("account_id","seq","balance","held") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "wallet_entries_held_once_key" ON "wallet_entries" USING btree ("withdrawal_id") WHERE "wallet_entries"."kind" = 'withdrawal_held';--> statement-breakpoint
CREATE UNIQUE INDEX "wallet_entries_decided_once_key" ON "wallet_entries" USING btree ("withdrawal_id") WHERE "wallet_entries"."kind" in ('withdrawal_released', 'withdrawn');--> statement-breakpoint
CREATE TRIGGER "wallet_entries_append_only" BEFORE UPDATE OR DELETE ON "wallet_entries"
  FOR EACH ROW EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE TRIGGER "wallet_entries_no_truncate" BEFORE TRUNCATE ON "wallet_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE FUNCTION "wallet_held_check"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_held numeric;
  v_pending numeric;
BEGIN
  SELECT e.held INTO v_held FROM wallet_entries e WHERE e.account_id = NEW.account_id ORDER BY e.seq DESC LIMIT 1;
  SELECT coalesce(sum(w.amount), 0) INTO v_pending FROM withdrawals w WHERE w.account_id = NEW.account_id AND w.status = 'pending';
  IF coalesce(v_held, 0) <> v_pending THEN
    RAISE EXCEPTION 'account %: its wallet holds % but its pending withdrawals hold %', NEW.account_id, coalesce(v_held, 0), v_pending
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "wallet_entries_held_check" AFTER INSERT ON "wallet_entries" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "wallet_held_check"();--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "withdrawals_held_check" AFTER INSERT OR UPDATE ON "withdrawals" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "wallet_held_check"();--> statement-breakpoint
DO $$
DECLARE
  a record;
  m record;
  v_seq integer;
  v_balance numeric;
  v_withdrawal uuid;
BEGIN
  FOR a IN
    SELECT md.account_id,
           sum(coalesce((SELECT sum(e.delta) FROM stake_entries e WHERE e.model_id = md.id AND e.kind = 'deposit'), 0)) AS deposited,
           sum(coalesce((SELECT -sum(e.delta) FROM stake_entries e WHERE e.model_id = md.id AND e.kind = 'released'), 0)) AS released
    FROM models md GROUP BY md.account_id ORDER BY md.account_id
  LOOP
    CONTINUE WHEN a.deposited <= 0;
    INSERT INTO wallet_entries (account_id, seq, kind, delta, balance, held, reference)
      VALUES (a.account_id, 1, 'credit', trim_scale(a.deposited), trim_scale(a.deposited), 0, 'opening balance: stakes deposited before wallets');
    v_seq := 1; v_balance := trim_scale(a.deposited);
    FOR m IN
      SELECT md.id, coalesce((SELECT sum(e.delta) FROM stake_entries e WHERE e.model_id = md.id AND e.kind = 'deposit'), 0) AS deposited
      FROM models md WHERE md.account_id = a.account_id ORDER BY md.id
    LOOP
      CONTINUE WHEN m.deposited <= 0;
      INSERT INTO wallet_entries (account_id, seq, kind, delta, balance, held, prev_seq, prev_balance, prev_held, model_id, reference)
        VALUES (a.account_id, v_seq + 1, 'stake', trim_scale(-m.deposited), trim_scale(v_balance - m.deposited), 0, v_seq, v_balance, 0, m.id,
                'opening balance: staked before wallets');
      v_seq := v_seq + 1; v_balance := trim_scale(v_balance - m.deposited);
    END LOOP;
    CONTINUE WHEN a.released <= 0;
    FOR m IN
      SELECT md.id, coalesce((SELECT -sum(e.delta) FROM stake_entries e WHERE e.model_id = md.id AND e.kind = 'released'), 0) AS released
      FROM models md WHERE md.account_id = a.account_id ORDER BY md.id
    LOOP
      CONTINUE WHEN m.released <= 0;
      INSERT INTO wallet_entries (account_id, seq, kind, delta, balance, held, prev_seq, prev_balance, prev_held, model_id, reference)
        VALUES (a.account_id, v_seq + 1, 'unstake', trim_scale(m.released), trim_scale(v_balance + m.released), 0, v_seq, v_balance, 0, m.id,
                'opening balance: released before wallets');
      v_seq := v_seq + 1; v_balance := trim_scale(v_balance + m.released);
    END LOOP;
    INSERT INTO withdrawals (account_id, amount, status, decided_at, reference)
      VALUES (a.account_id, trim_scale(a.released), 'completed', clock_timestamp(), 'opening balance: stakes released before wallets left the tournament')
      RETURNING id INTO v_withdrawal;
    INSERT INTO wallet_entries (account_id, seq, kind, delta, balance, held, prev_seq, prev_balance, prev_held, withdrawal_id, reference)
      VALUES (a.account_id, v_seq + 1, 'withdrawal_held', 0, v_balance, trim_scale(a.released), v_seq, v_balance, 0, v_withdrawal, NULL);
    INSERT INTO wallet_entries (account_id, seq, kind, delta, balance, held, prev_seq, prev_balance, prev_held, withdrawal_id, reference)
      VALUES (a.account_id, v_seq + 2, 'withdrawn', trim_scale(-a.released), trim_scale(v_balance - a.released), 0, v_seq + 1, v_balance, trim_scale(a.released), v_withdrawal,
              'opening balance: stakes released before wallets left the tournament');
  END LOOP;
END
$$;
