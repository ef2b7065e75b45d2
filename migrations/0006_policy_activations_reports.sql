-- Which policy version is in force for which eras is a table of its own: one row per activation,
-- in force from era `from_era` until the next activation's from_era (DESIGN sections 1 and 4).
-- An activation "at once" takes the first era whose cutoff has not passed; a scheduled one names
-- a later era. A later activation replaces a schedule that has not taken force (cancelled_at).
CREATE TABLE "policy_activations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"policy_id" uuid NOT NULL,
	"from_era" integer NOT NULL,
	"scheduled" boolean NOT NULL,
	"activated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"activated_by" uuid,
	"reason" text NOT NULL,
	"cancelled_at" timestamp with time zone,
	"cancelled_by" bigint,
	CONSTRAINT "policy_activations_from_era_check" CHECK ("policy_activations"."from_era" >= 0)
);--> statement-breakpoint
ALTER TABLE "policy_activations" ADD CONSTRAINT "policy_activations_policy_id_policies_id_fk" FOREIGN KEY ("policy_id") REFERENCES "public"."policies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policy_activations" ADD CONSTRAINT "policy_activations_activated_by_accounts_id_fk" FOREIGN KEY ("activated_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "policy_activations_in_force_idx" ON "policy_activations" USING btree ("from_era","id") WHERE "policy_activations"."cancelled_at" is null;--> statement-breakpoint
-- Activations so far, from the audit log: each took force with the first era not closed (and not
-- past its closesAt) when it was recorded.
INSERT INTO "policy_activations" ("policy_id", "from_era", "scheduled", "activated_at", "activated_by", "reason")
SELECT substr(a."subject", 8)::uuid,
       coalesce((SELECT max(e."number") + 1 FROM "eras" e WHERE least(e."closes_at", coalesce(e."closed_at", e."closes_at")) <= a."at"), 0),
       false, a."at", a."actor_id", coalesce(a."reason", '')
FROM "audit_log" a
WHERE a."action" = 'policy.activate' AND EXISTS (SELECT 1 FROM "policies" p WHERE p."id"::text = substr(a."subject", 8))
ORDER BY a."id";--> statement-breakpoint
DROP INDEX "policies_one_active_key";--> statement-breakpoint
ALTER TABLE "policies" DROP CONSTRAINT "policies_status_check";--> statement-breakpoint
ALTER TABLE "policies" DROP CONSTRAINT "policies_activated_by_accounts_id_fk";--> statement-breakpoint
ALTER TABLE "policies" DROP COLUMN "status";--> statement-breakpoint
ALTER TABLE "policies" DROP COLUMN "activated_at";--> statement-breakpoint
ALTER TABLE "policies" DROP COLUMN "activated_by";--> statement-breakpoint
ALTER TABLE "policies" DROP COLUMN "retired_at";--> statement-breakpoint
-- Report figures are computed once, when a run is made or a target arrives, and read from here.
ALTER TABLE "meta_model_runs" ADD COLUMN "report" jsonb;--> statement-breakpoint
-- The summary's point per closed era (its latest run), replaced when the run or a target changes.
CREATE TABLE "era_report_points" (
	"era_number" integer PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"total_stake" numeric NOT NULL,
	"point" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
ALTER TABLE "era_report_points" ADD CONSTRAINT "era_report_points_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "era_report_points" ADD CONSTRAINT "era_report_points_run_id_meta_model_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."meta_model_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- The cost of the policy per era and target (DESIGN section 2 step 12), on the latest run and target version.
CREATE TABLE "policy_costs" (
	"era_number" integer NOT NULL,
	"target" text NOT NULL,
	"run_id" uuid NOT NULL,
	"unconstrained" double precision,
	"traded" double precision,
	"cost" double precision,
	"by_rule" jsonb NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policy_costs_era_number_target_pk" PRIMARY KEY("era_number","target")
);--> statement-breakpoint
ALTER TABLE "policy_costs" ADD CONSTRAINT "policy_costs_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policy_costs" ADD CONSTRAINT "policy_costs_run_id_meta_model_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."meta_model_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Running totals per target over every era, kept in step with policy_costs (the summary reads one row per target).
CREATE TABLE "policy_cost_totals" (
	"target" text PRIMARY KEY NOT NULL,
	"eras" integer DEFAULT 0 NOT NULL,
	"unconstrained" double precision DEFAULT 0 NOT NULL,
	"traded" double precision DEFAULT 0 NOT NULL,
	"cost" double precision DEFAULT 0 NOT NULL
);
