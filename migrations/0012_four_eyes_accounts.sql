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
