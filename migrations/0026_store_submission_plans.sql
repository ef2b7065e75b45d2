-- store_submission's plans follow the number of era partitions (BENCHMARKS.md "Ingest and the
-- era partitions"):
--
-- The statements store_submission runs on submissions name the era as a parameter. Planned for
-- each call (what PostgreSQL's auto mode chose for them), they cost about 100 µs a call at any
-- number of partitions; that was the ingest gap against the unpartitioned table. A generic plan
-- is made once and prunes to the era's partition when it runs, but it locks every partition
-- first, so it costs 0.7 µs more a call for each one. Measured, one call in its own transaction
-- (µs): unpartitioned 270; generic 277 / 316 / 344 / 405 / 454 / 690 at 1 / 30 / 64 / 130 / 200
-- / 533 eras with partitions; planned each call 380 / 395 / 440 / 425 / 476 / 435.
--
-- So store_submission takes generic plans while submissions has at most 100 partitions (one for
-- each era not archived, and the DEFAULT), and plans each call above that. fit_store_submission_plans() sets
-- the mode from the count; the code that changes the count calls it in the same transaction
-- (src/db/partitions.ts after making partitions, src/db/archive.ts after a detach), and this
-- migration calls it once for the partitions already there.
CREATE FUNCTION "fit_store_submission_plans"() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  v_generic boolean;
  v_was boolean;
BEGIN
  -- One caller at a time: two concurrent ALTERs of one function fail ("tuple concurrently updated").
  PERFORM pg_advisory_xact_lock(1398210593, 3);
  SELECT count(*) <= 100 INTO v_generic FROM pg_inherits WHERE inhparent = 'submissions'::regclass;
  SELECT coalesce('plan_cache_mode=force_generic_plan' = ANY (p.proconfig), false) INTO v_was
    FROM pg_proc p
    WHERE p.oid = 'store_submission(uuid, integer, uuid, text, integer, integer, bytea, text, bytea, text)'::regprocedure;
  IF v_generic IS DISTINCT FROM v_was THEN
    IF v_generic THEN
      ALTER FUNCTION "store_submission"(uuid, integer, uuid, text, integer, integer, bytea, text, bytea, text) SET plan_cache_mode = force_generic_plan;
    ELSE
      ALTER FUNCTION "store_submission"(uuid, integer, uuid, text, integer, integer, bytea, text, bytea, text) RESET plan_cache_mode;
    END IF;
  END IF;
  RETURN v_generic;
END
$$;--> statement-breakpoint
SELECT "fit_store_submission_plans"();
