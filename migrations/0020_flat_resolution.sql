-- Running totals carried forward from the previous resolved era only: the era's rows are found by
-- the primary key's first column, and each row says the last era its model took part in, so a
-- model is carried forward only while a leaderboard window can still reach that era.
ALTER TABLE "model_era_results" DROP CONSTRAINT "model_era_results_target_era_number_model_id_pk";--> statement-breakpoint
ALTER TABLE "model_era_results" ADD CONSTRAINT "model_era_results_era_number_target_model_id_pk" PRIMARY KEY("era_number","target","model_id");--> statement-breakpoint
ALTER TABLE "model_era_results" ADD COLUMN "last_era" integer;--> statement-breakpoint
UPDATE "model_era_results" r SET "last_era" = (
  SELECT max(p."era_number") FROM "model_era_results" p
  WHERE p."model_id" = r."model_id" AND p."target" = r."target" AND p."took_part" AND p."era_number" <= r."era_number");
--> statement-breakpoint
ALTER TABLE "model_era_results" ALTER COLUMN "last_era" SET NOT NULL;
