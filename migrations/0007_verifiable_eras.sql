CREATE TABLE "era_bundles" (
	"era_number" integer PRIMARY KEY NOT NULL,
	"position" integer NOT NULL,
	"content" bytea NOT NULL,
	"digest" text NOT NULL,
	"previous_chain_digest" text NOT NULL,
	"chain_digest" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "era_bundles_position_check" CHECK ("era_bundles"."position" >= 1),
	CONSTRAINT "era_bundles_digests_check" CHECK ("era_bundles"."digest" ~ '^[0-9a-f]{64}$' and "era_bundles"."previous_chain_digest" ~ '^[0-9a-f]{64}$' and "era_bundles"."chain_digest" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
ALTER TABLE "era_bundles" ADD CONSTRAINT "era_bundles_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "era_bundles_position_key" ON "era_bundles" USING btree ("position");--> statement-breakpoint
-- One successor per link: two eras can never chain from the same predecessor.
CREATE UNIQUE INDEX "era_bundles_previous_key" ON "era_bundles" USING btree ("previous_chain_digest");--> statement-breakpoint
CREATE TRIGGER "era_bundles_append_only" BEFORE UPDATE OR DELETE ON "era_bundles"
  FOR EACH ROW EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE TRIGGER "era_bundles_no_truncate" BEFORE TRUNCATE ON "era_bundles"
  FOR EACH STATEMENT EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "digest" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "chain_digest" text;
