-- Targets are versioned: every upload before resolution is a new version, kept (DESIGN section 1).
-- Rows stored before this migration become version 1.
ALTER TABLE "targets" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "targets" ALTER COLUMN "version" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "targets" DROP CONSTRAINT "targets_era_number_name_pk";--> statement-breakpoint
ALTER TABLE "targets" ADD CONSTRAINT "targets_era_number_name_version_pk" PRIMARY KEY("era_number","name","version");--> statement-breakpoint
ALTER TABLE "targets" ADD CONSTRAINT "targets_version_check" CHECK ("targets"."version" >= 1);--> statement-breakpoint
-- Scores are kept per target version; the current score is the one on the latest version.
ALTER TABLE "scores" ADD COLUMN "target_version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "scores" ALTER COLUMN "target_version" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "scores" DROP CONSTRAINT "scores_submission_id_target_pk";--> statement-breakpoint
ALTER TABLE "scores" ADD CONSTRAINT "scores_submission_id_target_target_version_pk" PRIMARY KEY("submission_id","target","target_version");--> statement-breakpoint
DROP INDEX "scores_era_target_idx";--> statement-breakpoint
CREATE INDEX "scores_era_target_version_idx" ON "scores" USING btree ("era_number","target","target_version");--> statement-breakpoint
-- A model's scores are found through its submissions (submissions_model_idx, then this primary key):
-- one index fewer to write for each of the 200,000 rows of a 20-target upload.
DROP INDEX "scores_model_idx";--> statement-breakpoint
-- What performance and the leaderboard read (DESIGN section 2 steps 9-10), written once per
-- resolved era: per target, era and model, the current scores of the model's on-time
-- submission with its at-risk stake and payout, and running totals over the resolved eras up to
-- this one. A model keeps a row (took_part false) in every resolved era after its first, so a
-- window's totals are the difference of two rows.
CREATE TABLE "model_era_results" (
	"target" text NOT NULL,
	"era_number" integer NOT NULL,
	"model_id" uuid NOT NULL,
	"took_part" boolean NOT NULL,
	"corr" double precision,
	"mmc" double precision,
	"score" double precision,
	"stake" numeric,
	"payout" numeric,
	"scored_eras" integer NOT NULL,
	"corr_total" double precision NOT NULL,
	"mmc_total" double precision NOT NULL,
	"score_total" double precision NOT NULL,
	"last_stake" numeric,
	CONSTRAINT "model_era_results_target_era_number_model_id_pk" PRIMARY KEY("target","era_number","model_id")
);
--> statement-breakpoint
ALTER TABLE "model_era_results" ADD CONSTRAINT "model_era_results_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_era_results" ADD CONSTRAINT "model_era_results_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Covering, so one model's series is read from a few adjacent index pages, not one heap page per era.
CREATE INDEX "model_era_results_model_idx" ON "model_era_results" USING btree ("model_id","target","era_number") INCLUDE ("corr","mmc","stake","payout") WHERE "took_part";
