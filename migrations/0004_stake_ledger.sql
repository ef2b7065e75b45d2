-- Stakes become a ledger (DESIGN section 1, Stake; src/db/ledger.ts writes it):
-- - stake_entries: one row per movement (deposit, release_requested, released, payout, burn)
--   with its signed delta and the amount and balance after it. Each entry names the one before
--   it (prev_seq, prev_balance, prev_amount) by a foreign key, and a check makes
--   balance = prev_balance + delta, so balance = Σ delta is held by constraints, not by code;
--   balance ≥ 0, 0 ≤ amount ≤ balance, and what each kind may do to amount are checks too.
-- - stake_releases: lowered stake waiting for the eras in stake_release_eras to resolve;
--   burns take from `remaining`. A deferred trigger checks at commit that balance − amount
--   equals what the model's pending releases hold.
-- - an era's payout or burn is applied once per model (unique index), a release once.
-- stake_events moves into the ledger and is dropped.
CREATE TABLE "stake_releases" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_id" uuid NOT NULL,
	"amount" numeric NOT NULL,
	"remaining" numeric NOT NULL,
	"requested_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"released_at" timestamp with time zone,
	CONSTRAINT "stake_releases_amount_check" CHECK ("stake_releases"."amount" > 0 AND "stake_releases"."remaining" >= 0 AND "stake_releases"."remaining" <= "stake_releases"."amount")
);--> statement-breakpoint
ALTER TABLE "stake_releases" ADD CONSTRAINT "stake_releases_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "stake_releases_open_idx" ON "stake_releases" USING btree ("model_id","id") WHERE "stake_releases"."released_at" is null;--> statement-breakpoint
CREATE TABLE "stake_release_eras" (
	"release_id" bigint NOT NULL,
	"era_number" integer NOT NULL,
	CONSTRAINT "stake_release_eras_release_id_era_number_pk" PRIMARY KEY("release_id","era_number")
);--> statement-breakpoint
ALTER TABLE "stake_release_eras" ADD CONSTRAINT "stake_release_eras_release_id_stake_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."stake_releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stake_release_eras" ADD CONSTRAINT "stake_release_eras_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "stake_release_eras_era_idx" ON "stake_release_eras" USING btree ("era_number");--> statement-breakpoint
CREATE TABLE "stake_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"kind" text NOT NULL,
	"delta" numeric NOT NULL,
	"amount" numeric NOT NULL,
	"balance" numeric NOT NULL,
	"prev_seq" integer,
	"prev_amount" numeric,
	"prev_balance" numeric,
	"era_number" integer,
	"release_id" bigint,
	"note" text,
	"at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	CONSTRAINT "stake_entries_kind_check" CHECK ("stake_entries"."kind" in ('deposit', 'release_requested', 'released', 'payout', 'burn')),
	CONSTRAINT "stake_entries_balance_check" CHECK ("stake_entries"."balance" >= 0 AND "stake_entries"."amount" >= 0 AND "stake_entries"."amount" <= "stake_entries"."balance"),
	CONSTRAINT "stake_entries_chain_check" CHECK (("stake_entries"."seq" = 1 AND "stake_entries"."prev_seq" IS NULL AND "stake_entries"."prev_amount" IS NULL AND "stake_entries"."prev_balance" IS NULL AND "stake_entries"."balance" = "stake_entries"."delta" AND "stake_entries"."kind" = 'deposit')
      OR ("stake_entries"."seq" > 1 AND "stake_entries"."prev_seq" = "stake_entries"."seq" - 1 AND "stake_entries"."prev_amount" IS NOT NULL AND "stake_entries"."prev_balance" IS NOT NULL AND "stake_entries"."balance" = "stake_entries"."prev_balance" + "stake_entries"."delta")),
	CONSTRAINT "stake_entries_movement_check" CHECK (CASE "stake_entries"."kind"
      WHEN 'deposit' THEN "stake_entries"."delta" > 0 AND "stake_entries"."amount" = coalesce("stake_entries"."prev_amount", 0) + "stake_entries"."delta"
      WHEN 'release_requested' THEN "stake_entries"."delta" = 0 AND "stake_entries"."amount" < "stake_entries"."prev_amount"
      WHEN 'released' THEN "stake_entries"."delta" <= 0 AND "stake_entries"."amount" = "stake_entries"."prev_amount"
      WHEN 'payout' THEN "stake_entries"."delta" >= 0 AND "stake_entries"."amount" = "stake_entries"."prev_amount" + "stake_entries"."delta"
      WHEN 'burn' THEN "stake_entries"."delta" <= 0 AND "stake_entries"."amount" = greatest("stake_entries"."prev_amount" + "stake_entries"."delta", 0)
    END),
	CONSTRAINT "stake_entries_era_check" CHECK ("stake_entries"."kind" NOT IN ('payout', 'burn') OR "stake_entries"."era_number" IS NOT NULL),
	CONSTRAINT "stake_entries_release_check" CHECK (("stake_entries"."kind" IN ('release_requested', 'released')) = ("stake_entries"."release_id" IS NOT NULL))
);--> statement-breakpoint
ALTER TABLE "stake_entries" ADD CONSTRAINT "stake_entries_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stake_entries" ADD CONSTRAINT "stake_entries_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stake_entries" ADD CONSTRAINT "stake_entries_release_id_stake_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."stake_releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "stake_entries_model_seq_key" ON "stake_entries" USING btree ("model_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "stake_entries_chain_key" ON "stake_entries" USING btree ("model_id","seq","balance","amount");--> statement-breakpoint
ALTER TABLE "stake_entries" ADD CONSTRAINT "stake_entries_previous_fk" FOREIGN KEY ("model_id","prev_seq","prev_balance","prev_amount") REFERENCES "public"."stake_entries"("model_id","seq","balance","amount") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "stake_entries_settled_once_key" ON "stake_entries" USING btree ("model_id","era_number") WHERE "stake_entries"."kind" in ('payout', 'burn');--> statement-breakpoint
CREATE UNIQUE INDEX "stake_entries_requested_once_key" ON "stake_entries" USING btree ("release_id") WHERE "stake_entries"."kind" = 'release_requested';--> statement-breakpoint
CREATE UNIQUE INDEX "stake_entries_released_once_key" ON "stake_entries" USING btree ("release_id") WHERE "stake_entries"."kind" = 'released';--> statement-breakpoint
CREATE INDEX "stake_entries_era_idx" ON "stake_entries" USING btree ("era_number") WHERE "stake_entries"."era_number" is not null;--> statement-breakpoint
CREATE TRIGGER "stake_entries_append_only" BEFORE UPDATE OR DELETE ON "stake_entries"
  FOR EACH ROW EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE TRIGGER "stake_entries_no_truncate" BEFORE TRUNCATE ON "stake_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE TRIGGER "stake_release_eras_append_only" BEFORE UPDATE OR DELETE ON "stake_release_eras"
  FOR EACH ROW EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE FUNCTION "stake_release_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.model_id <> OLD.model_id OR NEW.amount <> OLD.amount OR NEW.requested_at <> OLD.requested_at
     OR NEW.remaining > OLD.remaining OR OLD.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'a pending release only shrinks by burns and is released once' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "stake_releases_guard" BEFORE UPDATE OR DELETE ON "stake_releases"
  FOR EACH ROW EXECUTE FUNCTION "stake_release_guard"();--> statement-breakpoint
CREATE TRIGGER "stake_releases_no_truncate" BEFORE TRUNCATE ON "stake_releases"
  FOR EACH STATEMENT EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE FUNCTION "stake_releasing_check"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_releasing numeric;
  v_pending numeric;
BEGIN
  SELECT e.balance - e.amount INTO v_releasing FROM stake_entries e WHERE e.model_id = NEW.model_id ORDER BY e.seq DESC LIMIT 1;
  SELECT coalesce(sum(r.remaining), 0) INTO v_pending FROM stake_releases r WHERE r.model_id = NEW.model_id AND r.released_at IS NULL;
  IF coalesce(v_releasing, 0) <> v_pending THEN
    RAISE EXCEPTION 'model %: balance - amount is % but its pending releases hold %', NEW.model_id, coalesce(v_releasing, 0), v_pending
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "stake_entries_releasing_check" AFTER INSERT ON "stake_entries" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "stake_releasing_check"();--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "stake_releases_releasing_check" AFTER INSERT OR UPDATE ON "stake_releases" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "stake_releasing_check"();--> statement-breakpoint
-- The old history, replayed under the ledger's rules: a lowered stake left at once then, so it
-- is a release completed at once; a burn that took the old stake below zero is cut at the balance.
DO $$
DECLARE
  r record;
  v_model uuid;
  v_seq integer;
  v_amount numeric;
  v_balance numeric;
  v_release bigint;
  v_burn numeric;
  v_note text;
BEGIN
  FOR r IN SELECT * FROM stake_events ORDER BY model_id, id LOOP
    IF v_model IS DISTINCT FROM r.model_id THEN
      v_model := r.model_id; v_seq := 0; v_amount := 0; v_balance := 0;
    END IF;
    IF r.kind = 'set' AND r.balance > v_amount THEN
      INSERT INTO stake_entries (model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, at)
        VALUES (r.model_id, v_seq + 1, 'deposit', trim_scale(r.balance - v_amount), trim_scale(r.balance), trim_scale(v_balance + r.balance - v_amount),
                nullif(v_seq, 0), CASE WHEN v_seq > 0 THEN v_amount END, CASE WHEN v_seq > 0 THEN v_balance END, r.at);
      v_seq := v_seq + 1; v_balance := trim_scale(v_balance + r.balance - v_amount); v_amount := trim_scale(r.balance);
    ELSIF r.kind = 'set' AND r.balance < v_amount THEN
      INSERT INTO stake_releases (model_id, amount, remaining, requested_at, released_at)
        VALUES (r.model_id, v_amount - r.balance, v_amount - r.balance, r.at, r.at) RETURNING id INTO v_release;
      INSERT INTO stake_entries (model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, release_id, at)
        VALUES (r.model_id, v_seq + 1, 'release_requested', 0, trim_scale(r.balance), v_balance, v_seq, v_amount, v_balance, v_release, r.at);
      INSERT INTO stake_entries (model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, release_id, note, at)
        VALUES (r.model_id, v_seq + 2, 'released', trim_scale(r.balance - v_amount), trim_scale(r.balance), trim_scale(v_balance + r.balance - v_amount),
                v_seq + 1, trim_scale(r.balance), v_balance, v_release, 'released at once, as lowered stakes were before the ledger', r.at);
      v_seq := v_seq + 2; v_balance := trim_scale(v_balance + r.balance - v_amount); v_amount := trim_scale(r.balance);
    ELSIF r.kind = 'payout' AND r.delta >= 0 THEN
      INSERT INTO stake_entries (model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, era_number, at)
        VALUES (r.model_id, v_seq + 1, 'payout', trim_scale(r.delta), trim_scale(v_amount + r.delta), trim_scale(v_balance + r.delta),
                v_seq, v_amount, v_balance, r.era_number, r.at);
      v_seq := v_seq + 1; v_balance := trim_scale(v_balance + r.delta); v_amount := trim_scale(v_amount + r.delta);
    ELSIF r.kind = 'payout' THEN
      v_burn := least(-r.delta, v_balance);
      v_note := CASE WHEN v_burn < -r.delta THEN format('burn of %s cut at the balance of %s', trim_scale(-r.delta), v_balance) END;
      INSERT INTO stake_entries (model_id, seq, kind, delta, amount, balance, prev_seq, prev_amount, prev_balance, era_number, note, at)
        VALUES (r.model_id, v_seq + 1, 'burn', trim_scale(-v_burn), trim_scale(greatest(v_amount - v_burn, 0)), trim_scale(v_balance - v_burn),
                v_seq, v_amount, v_balance, r.era_number, v_note, r.at);
      v_seq := v_seq + 1; v_balance := trim_scale(v_balance - v_burn); v_amount := trim_scale(greatest(v_amount - v_burn, 0));
    END IF;
  END LOOP;
END
$$;--> statement-breakpoint
DROP TABLE "stake_events";
