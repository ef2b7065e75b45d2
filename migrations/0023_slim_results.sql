-- Running totals slimmed (issue: years of history). model_era_results keeps a row only for a
-- model that took part in a resolved era: its scores there, the era's at-risk stake and payout,
-- and its running totals up to that era. A model no longer gets a copy (took_part false) in every
-- era it missed: its totals as of any era are those of its latest row up to it, found by the
-- primary key (target, model_id, era_number), which is also a model's series in era order. The
-- per-era score (derived from corr, mmc and the era's multipliers), last_stake (the latest row's
-- stake) and last_era (the latest row's era) were redundant and go. The table is rebuilt, not
-- altered, so that its rows are written once in a column order without padding; every kept value
-- is copied as it was.
CREATE TABLE "model_era_results_slim" (
	"era_number" integer NOT NULL,
	"scored_eras" integer NOT NULL,
	"corr" double precision,
	"mmc" double precision,
	"corr_total" double precision NOT NULL,
	"mmc_total" double precision NOT NULL,
	"score_total" double precision NOT NULL,
	"model_id" uuid NOT NULL,
	"target" text NOT NULL,
	"stake" numeric,
	"payout" numeric
);--> statement-breakpoint
INSERT INTO "model_era_results_slim" ("era_number", "scored_eras", "corr", "mmc", "corr_total", "mmc_total", "score_total", "model_id", "target", "stake", "payout")
SELECT "era_number", "scored_eras", "corr", "mmc", "corr_total", "mmc_total", "score_total", "model_id", "target", "stake", "payout"
FROM "model_era_results" WHERE "took_part"
ORDER BY "era_number", "target", "model_id";--> statement-breakpoint
DROP TABLE "model_era_results";--> statement-breakpoint
ALTER TABLE "model_era_results_slim" RENAME TO "model_era_results";--> statement-breakpoint
ALTER TABLE "model_era_results" ADD CONSTRAINT "model_era_results_target_model_id_era_number_pk" PRIMARY KEY("target","model_id","era_number");--> statement-breakpoint
ALTER TABLE "model_era_results" ADD CONSTRAINT "model_era_results_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_era_results" ADD CONSTRAINT "model_era_results_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- A leaderboard window's rows (one target, a range of eras) and an era's rows.
CREATE INDEX "model_era_results_target_era_idx" ON "model_era_results" USING btree ("target","era_number");
