-- Packed scores (docs/operations.md, BENCHMARKS.md "Years of history"): one row per era, target
-- and version holding every scored submission's status, CORR, MMC, at-risk stake and payout as
-- arrays, aligned to the era's score order (score_orders: the submissions scored in the era, in
-- the order they were first scored, with their models). A NULL status at a position means that
-- submission has no score on that version; an array shorter than the order is NULL past its end.
-- float8[] and numeric[] keep every value bit for bit (NULLs, NaN and the exact decimal payout).
-- The view "scores" shows the rows as they were (one per submission, target and version).
CREATE TABLE "score_orders" (
	"era_number" integer PRIMARY KEY NOT NULL,
	"submission_ids" uuid[] NOT NULL,
	"model_ids" uuid[] NOT NULL,
	CONSTRAINT "score_orders_aligned_check" CHECK (cardinality("submission_ids") = cardinality("model_ids"))
);
--> statement-breakpoint
CREATE TABLE "score_sets" (
	"era_number" integer NOT NULL,
	"target" text NOT NULL,
	"target_version" integer NOT NULL,
	"run_id" uuid,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"statuses" text[] NOT NULL,
	"corrs" double precision[] NOT NULL,
	"mmcs" double precision[] NOT NULL,
	"stakes" numeric[] NOT NULL,
	"payouts" numeric[] NOT NULL,
	CONSTRAINT "score_sets_era_number_target_target_version_pk" PRIMARY KEY("era_number","target","target_version")
);
--> statement-breakpoint
INSERT INTO "score_orders" ("era_number", "submission_ids", "model_ids")
SELECT "era_number", array_agg("submission_id" ORDER BY "submission_id"), array_agg("model_id" ORDER BY "submission_id")
FROM (SELECT DISTINCT ON ("era_number", "submission_id") "era_number", "submission_id", "model_id" FROM "scores" ORDER BY "era_number", "submission_id") d
GROUP BY "era_number";
--> statement-breakpoint
INSERT INTO "score_sets" ("era_number", "target", "target_version", "run_id", "computed_at", "statuses", "corrs", "mmcs", "stakes", "payouts")
SELECT st."era_number", st."target", st."target_version", st."run_id", st."computed_at",
       array_agg(sc."status" ORDER BY o.k), array_agg(sc."corr" ORDER BY o.k), array_agg(sc."mmc" ORDER BY o.k),
       array_agg(sc."stake" ORDER BY o.k), array_agg(sc."payout" ORDER BY o.k)
FROM (
  -- a set's run and time: those of its latest written row (a re-score rewrites a whole version)
  SELECT DISTINCT ON ("era_number", "target", "target_version") "era_number", "target", "target_version", "run_id", "computed_at"
  FROM "scores" ORDER BY "era_number", "target", "target_version", "computed_at" DESC
) st
JOIN "score_orders" so ON so."era_number" = st."era_number"
CROSS JOIN LATERAL unnest(so."submission_ids") WITH ORDINALITY AS o(id, k)
LEFT JOIN "scores" sc ON sc."submission_id" = o.id AND sc."target" = st."target" AND sc."target_version" = st."target_version"
GROUP BY st."era_number", st."target", st."target_version", st."run_id", st."computed_at";
--> statement-breakpoint
DROP TABLE "scores";
--> statement-breakpoint
CREATE VIEW "scores" AS
SELECT u."submission_id", s."target", s."target_version", s."era_number", u."model_id", s."run_id",
       u."status", u."corr", u."mmc", u."stake", u."payout", s."computed_at"
FROM "score_sets" s
JOIN "score_orders" o ON o."era_number" = s."era_number"
CROSS JOIN LATERAL unnest(o."submission_ids", o."model_ids", s."statuses", s."corrs", s."mmcs", s."stakes", s."payouts")
  AS u("submission_id", "model_id", "status", "corr", "mmc", "stake", "payout")
WHERE u."status" IS NOT NULL;
