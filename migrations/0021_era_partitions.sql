-- Years of history (docs/operations.md): submissions and run_inputs are partitioned by era, one
-- partition per era (submissions_e<N>, run_inputs_e<N>) and a DEFAULT partition that catches the
-- rows of an era whose partition was not made ahead (an era inserted by SQL, a lock that timed out).
-- Their keys include the era. Partitions are made by ensure_era_partitions() below, which the
-- service calls ahead (src/db/partitions.ts). era_storage records what retention and archiving did
-- to each era. Written by hand: drizzle-kit cannot express partitions.
--
-- Foreign keys to submissions(id) cannot stay: the key is now (era_number, id). run_inputs gets a
-- composite key back below; a score keeps no key to its submission, so that an era's submissions
-- can be archived while its scores stay.
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.conrelid::regclass AS tbl, c.conname FROM pg_constraint c
           WHERE c.contype = 'f' AND c.confrelid = 'submissions'::regclass LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
  END LOOP;
END $$;--> statement-breakpoint
ALTER TABLE "submissions" RENAME TO "submissions_unpartitioned";--> statement-breakpoint
ALTER TABLE "submissions_unpartitioned" DROP CONSTRAINT "submissions_pkey";--> statement-breakpoint
DROP INDEX "submissions_model_idx", "submissions_era_idx", "submissions_current_key";--> statement-breakpoint
ALTER TABLE "run_inputs" RENAME TO "run_inputs_unpartitioned";--> statement-breakpoint
ALTER TABLE "run_inputs_unpartitioned" DROP CONSTRAINT "run_inputs_run_id_model_id_pk";--> statement-breakpoint
-- The columns in their old order (raw_encoding last, as 0003 added it), so COPY files of either
-- shape read alike. raw may now be null: retention drops it (the sha256 and rank codes stay).
CREATE TABLE "submissions" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"era_number" integer NOT NULL,
	"model_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"rows" integer NOT NULL,
	"covered" integer NOT NULL,
	"late" boolean NOT NULL,
	"superseded" boolean DEFAULT false NOT NULL,
	"raw" bytea,
	"ranks" bytea NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"raw_encoding" text DEFAULT 'float64' NOT NULL,
	CONSTRAINT "submissions_era_number_id_pk" PRIMARY KEY ("era_number", "id"),
	CONSTRAINT "submissions_raw_encoding_check" CHECK ("raw_encoding" IN ('float64', 'decimal'))
) PARTITION BY RANGE ("era_number");--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "raw" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "ranks" SET STORAGE EXTERNAL;--> statement-breakpoint
CREATE INDEX "submissions_model_idx" ON "submissions" USING btree ("model_id", "created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "submissions_current_key" ON "submissions" USING btree ("era_number", "model_id", "late") WHERE not "superseded";--> statement-breakpoint
CREATE TABLE "submissions_default" PARTITION OF "submissions" DEFAULT;--> statement-breakpoint
-- A run's inputs carry the run's era, their partition key.
CREATE TABLE "run_inputs" (
	"run_id" uuid NOT NULL,
	"model_id" uuid NOT NULL,
	"submission_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"stake" numeric NOT NULL,
	"era_number" integer NOT NULL,
	CONSTRAINT "run_inputs_run_id_model_id_era_number_pk" PRIMARY KEY ("run_id", "model_id", "era_number")
) PARTITION BY RANGE ("era_number");--> statement-breakpoint
CREATE TABLE "run_inputs_default" PARTITION OF "run_inputs" DEFAULT;--> statement-breakpoint
CREATE TABLE "era_storage" (
	"era_number" integer PRIMARY KEY NOT NULL,
	"superseded_values_dropped_at" timestamp with time zone,
	"values_dropped_at" timestamp with time zone,
	"compacted_at" timestamp with time zone,
	"detached_at" timestamp with time zone,
	"archived_at" timestamp with time zone,
	"archive" jsonb
);--> statement-breakpoint
ALTER TABLE "era_storage" ADD CONSTRAINT "era_storage_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Makes era p_era's partition of each table unless it exists or the DEFAULT partition holds rows
-- of that era (they stay there: attaching would fail, and archiving reads them from there).
-- Idempotent, and one caller at a time (the advisory lock LOCK_CLASS.partitions of
-- src/db/locks.ts), so replicas making the same eras' partitions at once never fail. The table is
-- made first and attached second: ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, which reads
-- and writes of other eras do not wait for. Returns how many partitions it made.
CREATE FUNCTION "ensure_era_partitions"(p_era integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_parent text;
  v_name text;
  v_made integer := 0;
  v_held boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(1398210593, 0);
  FOREACH v_parent IN ARRAY ARRAY['submissions', 'run_inputs'] LOOP
    v_name := v_parent || '_e' || p_era;
    CONTINUE WHEN to_regclass(format('public.%I', v_name)) IS NOT NULL;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE era_number = $1)', v_parent || '_default') INTO v_held USING p_era;
    CONTINUE WHEN v_held;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)', v_name, v_parent);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', v_parent, v_name, p_era, p_era + 1);
    v_made := v_made + 1;
  END LOOP;
  RETURN v_made;
END
$$;--> statement-breakpoint
SELECT "ensure_era_partitions"("number") FROM "eras" ORDER BY "number";--> statement-breakpoint
INSERT INTO "submissions" ("id", "era_number", "model_id", "sha256", "rows", "covered", "late", "superseded", "raw", "ranks", "created_at", "raw_encoding")
  SELECT "id", "era_number", "model_id", "sha256", "rows", "covered", "late", "superseded", "raw", "ranks", "created_at", "raw_encoding"
  FROM "submissions_unpartitioned";--> statement-breakpoint
INSERT INTO "run_inputs" ("run_id", "model_id", "submission_id", "sha256", "stake", "era_number")
  SELECT ri."run_id", ri."model_id", ri."submission_id", ri."sha256", ri."stake", r."era_number"
  FROM "run_inputs_unpartitioned" ri JOIN "meta_model_runs" r ON r."id" = ri."run_id";--> statement-breakpoint
DROP TABLE "run_inputs_unpartitioned";--> statement-breakpoint
DROP TABLE "submissions_unpartitioned";--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_inputs" ADD CONSTRAINT "run_inputs_run_id_meta_model_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."meta_model_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_inputs" ADD CONSTRAINT "run_inputs_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_inputs" ADD CONSTRAINT "run_inputs_submission_fk" FOREIGN KEY ("era_number", "submission_id") REFERENCES "public"."submissions"("era_number", "id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- store_submission as in 0013, every look-up and update within the era's partition, planned for
-- the era at hand (a generic plan would lock every partition on each call).
CREATE OR REPLACE FUNCTION "store_submission"(p_key uuid, p_era integer, p_model uuid, p_sha text, p_rows integer, p_covered integer,
                                   p_raw bytea, p_raw_encoding text, p_ranks bytea, p_digest text)
RETURNS TABLE (r_id uuid, r_era integer, r_model uuid, r_rows integer, r_sha text, r_late boolean,
               r_created_at timestamptz, r_created boolean)
LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
  v_late boolean;
  v_digest text;
  v_current uuid;
  v_latest uuid;
  v_latest_sha text;
BEGIN
  PERFORM 1 FROM api_keys k WHERE k.id = p_key AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now());
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the API key is unknown, revoked or expired' USING ERRCODE = 'SWK01';
  END IF;
  SELECT (e.closed_at IS NOT NULL OR now() >= e.closes_at), e.universe_digest INTO v_late, v_digest
    FROM eras e WHERE e.number = p_era FOR KEY SHARE;
  IF NOT FOUND OR v_digest IS DISTINCT FROM p_digest THEN
    RAISE EXCEPTION 'the universe of era % changed', p_era USING ERRCODE = 'SWU01';
  END IF;
  -- The model's latest word on the era: its late submission if it has one, else its on-time one.
  SELECT s.id, s.sha256 INTO v_latest, v_latest_sha FROM submissions s
    WHERE s.era_number = p_era AND s.model_id = p_model AND NOT s.superseded
    ORDER BY s.late DESC LIMIT 1;
  IF v_latest IS NOT NULL AND v_latest_sha = p_sha THEN
    RETURN QUERY SELECT s.id, s.era_number, s.model_id, s.rows, s.sha256, s.late, s.created_at, false
      FROM submissions s WHERE s.era_number = p_era AND s.id = v_latest;
    RETURN;
  END IF;
  SELECT s.id INTO v_current FROM submissions s
    WHERE s.era_number = p_era AND s.model_id = p_model AND s.late = v_late AND NOT s.superseded;
  IF v_current IS NOT NULL THEN
    UPDATE submissions SET superseded = true WHERE era_number = p_era AND id = v_current;
  END IF;
  RETURN QUERY INSERT INTO submissions AS s (era_number, model_id, sha256, rows, covered, late, raw, raw_encoding, ranks)
    VALUES (p_era, p_model, p_sha, p_rows, p_covered, v_late, p_raw, p_raw_encoding, p_ranks)
    RETURNING s.id, s.era_number, s.model_id, s.rows, s.sha256, s.late, s.created_at, true;
END
$$;
