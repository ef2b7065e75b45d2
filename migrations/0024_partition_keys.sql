-- Era partitions, second step (docs/operations.md, BENCHMARKS.md "Years of history"):
--
-- 1. run_inputs' key to submissions moves from the parent tables to each era's pair of
--    partitions. A key on the partitioned submissions is checked, row by row, by a plan that
--    locks every partition of submissions: a close of 10,000 models paid that 10,000 times, and
--    more with every era. run_inputs_e<N> now references submissions_e<N> (a plain table) and the
--    DEFAULT partition, or an era whose submissions have no partition of their own, references
--    the parent as before. The same rows are guarded; only where the check looks changes.
-- 2. A GIN index on score_orders.model_ids: the eras a model was scored in, found without
--    probing every era's partition of submissions (a model's scores, newest first).
-- 3. No statistics on the submission columns nothing filters or joins on (ranks, raw, sha256):
--    ANALYZE kept a histogram of rank codes per partition, about 40 KB an era in pg_statistic.
--    ensure_era_partitions() now gives each new partition its parent's statistics targets.
-- 4. ensure_era_partitions() takes every lock an attach needs at once and without waiting
--    (55P03 when one is held; the service tries again in a new transaction). 0021's version
--    attached one table at a time and could hold one DEFAULT partition while waiting for the
--    other, closing a deadlock with a reader of both tables.
-- 5. store_submission plans as PostgreSQL chooses (plan_cache_mode auto) instead of planning
--    every statement on every call: its statements on api_keys and eras keep a generic plan,
--    and those on submissions are still planned for the era at hand, since a generic plan over
--    every partition costs more (measured: 230-360 µs a call against 340-620 with 133 and 533
--    partitions; every plan read one partition).
CREATE INDEX "score_orders_model_ids_idx" ON "score_orders" USING gin ("model_ids");--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "ranks" SET STATISTICS 0, ALTER COLUMN "raw" SET STATISTICS 0, ALTER COLUMN "sha256" SET STATISTICS 0;--> statement-breakpoint
-- Adds partition p_child's key to submissions: to its era's own partition when that is attached,
-- else to the parent. The caller holds the locks (below: the migration's own; ensure_era_partitions
-- takes them without waiting).
CREATE FUNCTION "add_run_inputs_submission_key"(p_child text, p_era integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_target text := 'submissions';
BEGIN
  IF p_era IS NOT NULL AND EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                   WHERE i.inhparent = 'public.submissions'::regclass AND c.relname = 'submissions_e' || p_era) THEN
    v_target := 'submissions_e' || p_era;
  END IF;
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY ("era_number", "submission_id") REFERENCES %I ("era_number", "id")',
                 p_child, p_child || '_submission_fk', v_target);
END
$$;--> statement-breakpoint
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, substring(c.relname FROM '^run_inputs_e([0-9]+)$')::integer AS era
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'public.run_inputs'::regclass LOOP
    PERFORM "add_run_inputs_submission_key"(r.relname, r.era);
  END LOOP;
END $$;--> statement-breakpoint
ALTER TABLE "run_inputs" DROP CONSTRAINT "run_inputs_submission_fk";--> statement-breakpoint
-- As in 0021, plus: each new partition takes its parent's statistics targets, and run_inputs_e<N>
-- gets its key to submissions (above).
CREATE OR REPLACE FUNCTION "ensure_era_partitions"(p_era integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_parent text;
  v_name text;
  v_made integer := 0;
  v_held boolean;
  v_column record;
BEGIN
  PERFORM pg_advisory_xact_lock(1398210593, 0);
  IF to_regclass(format('public.%I', 'submissions_e' || p_era)) IS NOT NULL
     AND to_regclass(format('public.%I', 'run_inputs_e' || p_era)) IS NOT NULL THEN
    RETURN 0;
  END IF;
  -- Every lock an attach needs, taken at once and without waiting (55P03 when one is held): a
  -- maker that waited while holding one could close a cycle with a reader of both tables.
  -- Refused, the era's rows go to the DEFAULT partitions meanwhile and a later pass tries again.
  LOCK TABLE ONLY "submissions", ONLY "run_inputs", ONLY "eras", ONLY "models", ONLY "meta_model_runs" IN SHARE ROW EXCLUSIVE MODE NOWAIT;
  LOCK TABLE "submissions_default", "run_inputs_default" IN ACCESS EXCLUSIVE MODE NOWAIT;
  -- run_inputs_e<N>'s key takes SHARE ROW EXCLUSIVE on submissions_e<N> (made by an earlier call).
  IF to_regclass(format('public.%I', 'submissions_e' || p_era)) IS NOT NULL THEN
    EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE NOWAIT', 'submissions_e' || p_era);
  END IF;
  -- submissions first: run_inputs_e<N>'s key references submissions_e<N>.
  FOREACH v_parent IN ARRAY ARRAY['submissions', 'run_inputs'] LOOP
    v_name := v_parent || '_e' || p_era;
    CONTINUE WHEN to_regclass(format('public.%I', v_name)) IS NOT NULL;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE era_number = $1)', v_parent || '_default') INTO v_held USING p_era;
    CONTINUE WHEN v_held;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)', v_name, v_parent);
    FOR v_column IN SELECT attname, attstattarget FROM pg_attribute
                    WHERE attrelid = format('public.%I', v_parent)::regclass AND attnum > 0 AND NOT attisdropped AND attstattarget >= 0 LOOP
      EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET STATISTICS %s', v_name, v_column.attname, v_column.attstattarget);
    END LOOP;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', v_parent, v_name, p_era, p_era + 1);
    IF v_parent = 'run_inputs' THEN
      PERFORM "add_run_inputs_submission_key"(v_name, p_era);
    END IF;
    v_made := v_made + 1;
  END LOOP;
  RETURN v_made;
END
$$;--> statement-breakpoint
ALTER FUNCTION "store_submission"(uuid, integer, uuid, text, integer, integer, bytea, text, bytea, text) RESET plan_cache_mode;
