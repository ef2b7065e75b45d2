-- A score row's era and model are those of its submission (scoring writes them from the
-- submission row it reads), and the submission's own foreign keys already tie it to an
-- existing era and model; its run is the era's run, read in the same transaction, and runs
-- are never deleted. The foreign keys to eras, models and meta_model_runs checked those facts
-- again on every score row: three of the four checks per row, most of the time it took to
-- write the 200,000 rows of a 20-target upload at 10,000 models. The key to the submission stays.
ALTER TABLE "scores" DROP CONSTRAINT "scores_era_number_eras_number_fk";--> statement-breakpoint
ALTER TABLE "scores" DROP CONSTRAINT "scores_model_id_models_id_fk";--> statement-breakpoint
ALTER TABLE "scores" DROP CONSTRAINT "scores_run_id_meta_model_runs_id_fk";
