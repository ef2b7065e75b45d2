-- An era's scores stay readable once its submissions are archived (docs/operations.md, "What
-- archiving never touches"). The score reads took each scored submission's lateness (and whether
-- it was superseded) from submissions, which `archive` takes out of the database, so an archived
-- era's scores vanished from a model's scores, an era's scores and a score's history. The score
-- order now keeps each position's lateness beside its submission and model, written when the
-- position is added; a position whose submission was superseded after it was scored is cleared
-- in every score set (src/db/scores.ts deleteSupersededScores), so an archived era needs nothing
-- else. Positions of an era archived before this migration have no lateness (NULL) and stay
-- unread, as they were.
ALTER TABLE "score_orders" ADD COLUMN "lates" boolean[];--> statement-breakpoint
UPDATE "score_orders" o SET "lates" = coalesce(
  (SELECT array_agg(s."late" ORDER BY u.k)
   FROM unnest(o."submission_ids") WITH ORDINALITY AS u(id, k)
   LEFT JOIN "submissions" s ON s."era_number" = o."era_number" AND s."id" = u.id),
  '{}');--> statement-breakpoint
ALTER TABLE "score_orders" ALTER COLUMN "lates" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "score_orders" ADD CONSTRAINT "score_orders_lates_aligned_check" CHECK (cardinality("lates") = cardinality("submission_ids"));
