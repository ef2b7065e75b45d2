-- Four-eyes between people (src/services/accounts.ts). An account is active, pending (an admin
-- made over HTTP, until a different admin confirms it) or disabled (its keys revoked with it).
-- Accounts that exist before this migration stay active; so does every account the command line
-- or BOOTSTRAP_ADMIN_KEY makes (created_by null: the operator's root of trust).
ALTER TABLE "accounts" ADD COLUMN "status" text DEFAULT 'active' NOT NULL;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "created_by" uuid REFERENCES "accounts"("id");--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "confirmed_by" uuid REFERENCES "accounts"("id");--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "confirmed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "accounts" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_status_check" CHECK ("status" in ('active', 'pending', 'disabled'));--> statement-breakpoint
-- Only an admin account waits for confirmation, and only one a person made; its confirmer is someone else.
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_pending_check" CHECK ("status" <> 'pending' OR ("role" = 'admin' AND "created_by" IS NOT NULL));--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_confirmer_check" CHECK ("confirmed_by" IS NULL OR "confirmed_by" IS DISTINCT FROM "created_by");--> statement-breakpoint
-- Who acted, by name, and with which key. Entries written from here on carry digest_version 2,
-- whose digest also covers actor_name and key_id; earlier entries keep version 1 and verify as
-- they did (src/domain/chain.ts).
ALTER TABLE "audit_log" ADD COLUMN "actor_name" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "key_id" uuid REFERENCES "api_keys"("id");--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "digest_version" smallint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_digest_version_check" CHECK ("digest_version" in (1, 2));
--> statement-breakpoint
-- Fixed forward from what earlier releases let through, as their audit log recorded it: who made
-- each account over HTTP; an admin made so was never confirmed by a second admin, so it waits for
-- one now; and a key an admin minted for another admin's account is revoked.
UPDATE "accounts" a SET "created_by" = l."actor_id"
  FROM "audit_log" l
  WHERE l."action" = 'account.create' AND l."subject" = 'account:' || a."id"::text
    AND l."actor_id" IS NOT NULL AND l."actor_id" <> a."id";--> statement-breakpoint
UPDATE "accounts" SET "status" = 'pending' WHERE "role" = 'admin' AND "created_by" IS NOT NULL;--> statement-breakpoint
UPDATE "api_keys" k SET "revoked_at" = now()
  FROM "audit_log" l, "accounts" a
  WHERE l."action" = 'key.create' AND l."subject" = 'account:' || k."account_id"::text
    AND l."details"->>'keyId' = k."id"::text AND a."id" = k."account_id" AND a."role" = 'admin'
    AND l."actor_id" IS NOT NULL AND l."actor_id" <> k."account_id" AND k."revoked_at" IS NULL;
