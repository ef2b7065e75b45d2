-- Events: an outbox written in the transaction that causes each event, webhooks that subscribe to
-- event types, and one delivery per (webhook, event) with every attempt logged.
CREATE TABLE "events" (
	"id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	"type" text NOT NULL,
	-- null: every account may see it; else only this account (the owner of the model it is about)
	"account_id" uuid REFERENCES "accounts"("id"),
	"data" jsonb NOT NULL,
	"created_at" timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE INDEX "events_created_at" ON "events" ("created_at");
--> statement-breakpoint
CREATE INDEX "events_account" ON "events" ("account_id", "id");
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"account_id" uuid NOT NULL REFERENCES "accounts"("id"),
	"url" text NOT NULL,
	"events" text[] NOT NULL,
	"description" text,
	"secret" text NOT NULL,
	"disabled_at" timestamptz,
	"disabled_reason" text,
	"created_at" timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT "webhooks_events_check" CHECK (cardinality("events") > 0)
);
--> statement-breakpoint
CREATE INDEX "webhooks_account" ON "webhooks" ("account_id");
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"webhook_id" uuid NOT NULL REFERENCES "webhooks"("id") ON DELETE CASCADE,
	"event_id" bigint NOT NULL REFERENCES "events"("id") ON DELETE CASCADE,
	"status" text NOT NULL DEFAULT 'pending',
	-- attempts made so far
	"attempts" integer NOT NULL DEFAULT 0,
	-- true while a queue job for the next attempt exists; false: the sweep enqueues one
	"queued" boolean NOT NULL DEFAULT false,
	"last_status_code" integer,
	"next_attempt_at" timestamptz,
	"created_at" timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT "webhook_deliveries_status_check" CHECK ("status" in ('pending', 'delivered', 'failed')),
	CONSTRAINT "webhook_deliveries_once" UNIQUE ("webhook_id", "event_id")
);
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_by_webhook" ON "webhook_deliveries" ("webhook_id", "created_at" DESC, "id");
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_to_queue" ON "webhook_deliveries" ("created_at") WHERE "status" = 'pending' AND NOT "queued";
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_event" ON "webhook_deliveries" ("event_id");
--> statement-breakpoint
CREATE TABLE "webhook_attempts" (
	"delivery_id" uuid NOT NULL REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE,
	"number" integer NOT NULL,
	"at" timestamptz NOT NULL DEFAULT clock_timestamp(),
	"status_code" integer,
	"error" text,
	"duration_ms" integer NOT NULL,
	PRIMARY KEY ("delivery_id", "number")
);
--> statement-breakpoint
-- An era's era.opened event is written once: at creation when it opens at once, else by the
-- scheduler of whichever replica first sees it open.
CREATE TABLE "era_openings" (
	"era_number" integer PRIMARY KEY REFERENCES "eras"("number"),
	"announced_at" timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- Eras that opened before events existed are not announced.
INSERT INTO "era_openings" ("era_number") SELECT "number" FROM "eras" WHERE "opens_at" <= now();
--> statement-breakpoint
-- Writes events and a pending delivery for every enabled webhook of an account that may see each
-- and subscribes to its type; wakes the delivery sweep when a delivery was written (NOTIFY is
-- sent at commit, so never for a rolled-back cause). model_ids: null for an event every account
-- sees, else the model whose owner alone sees it.
CREATE FUNCTION emit_events(types text[], model_ids uuid[], payloads jsonb[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	written integer;
	deliveries integer;
BEGIN
	WITH new_events AS (
		INSERT INTO events (type, account_id, data)
		SELECT u.type, m.account_id, u.data
		FROM unnest(types, model_ids, payloads) WITH ORDINALITY AS u(type, model_id, data, n)
		LEFT JOIN models m ON m.id = u.model_id
		WHERE u.model_id IS NULL OR m.id IS NOT NULL
		ORDER BY u.n
		RETURNING id, type, account_id
	), new_deliveries AS (
		-- Owner events join their account's webhooks by index; account-wide events join every webhook.
		INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_at)
		SELECT w.id, e.id, now()
		FROM new_events e
		JOIN webhooks w ON w.account_id = e.account_id
		WHERE e.account_id IS NOT NULL AND e.type = ANY (w.events) AND w.disabled_at IS NULL
		UNION ALL
		SELECT w.id, e.id, now()
		FROM new_events e
		JOIN webhooks w ON e.type = ANY (w.events) AND w.disabled_at IS NULL
		WHERE e.account_id IS NULL
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM new_events), (SELECT count(*) FROM new_deliveries) INTO written, deliveries;
	IF deliveries > 0 THEN
		PERFORM pg_notify('stakeweight_deliveries', '');
	END IF;
	RETURN written;
END;
$$;
