-- API keys get scopes and an optional expiry (src/services/accounts.ts). A key's scopes are a
-- subset of submit, stake and read, or 'all' (everything its account's role may do), which is
-- what every key issued before this migration keeps.
ALTER TABLE "api_keys" ADD COLUMN "scopes" text[] DEFAULT '{all}' NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_scopes_check" CHECK (cardinality("scopes") > 0 AND "scopes" <@ ARRAY['all', 'submit', 'stake', 'read']::text[]);--> statement-breakpoint
-- The write rate limit, shared by every replica (src/db/rate-limit.ts): one row per key per
-- minute. UNLOGGED: counters need no crash safety (a crash forgets at most a minute's counts)
-- and skip the WAL on the ingest path.
CREATE UNLOGGED TABLE "rate_limit_counters" (
	"bucket" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"used" integer NOT NULL,
	CONSTRAINT "rate_limit_counters_pkey" PRIMARY KEY("bucket","window_start")
);--> statement-breakpoint
-- The key-less store_submission (0002) is gone: every caller now passes its key (0003). Also the
-- key-checked overload without raw_encoding, which databases migrated by an earlier draft of 0003
-- still hold.
DROP FUNCTION IF EXISTS "store_submission"(integer, uuid, text, integer, integer, bytea, bytea, text);--> statement-breakpoint
DROP FUNCTION IF EXISTS "store_submission"(uuid, integer, uuid, text, integer, integer, bytea, bytea, text);--> statement-breakpoint
-- The ingest write also refuses an expired key (SWK01, like a revoked one).
CREATE OR REPLACE FUNCTION "store_submission"(p_key uuid, p_era integer, p_model uuid, p_sha text, p_rows integer, p_covered integer,
                                   p_raw bytea, p_raw_encoding text, p_ranks bytea, p_digest text)
RETURNS TABLE (r_id uuid, r_era integer, r_model uuid, r_rows integer, r_sha text, r_late boolean,
               r_created_at timestamptz, r_created boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_late boolean;
  v_digest text;
  v_current uuid;
  v_current_sha text;
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
  SELECT s.id, s.sha256 INTO v_current, v_current_sha FROM submissions s
    WHERE s.era_number = p_era AND s.model_id = p_model AND s.late = v_late AND NOT s.superseded;
  IF v_current IS NOT NULL AND v_current_sha = p_sha THEN
    RETURN QUERY SELECT s.id, s.era_number, s.model_id, s.rows, s.sha256, s.late, s.created_at, false
      FROM submissions s WHERE s.id = v_current;
    RETURN;
  END IF;
  IF v_current IS NOT NULL THEN
    UPDATE submissions SET superseded = true WHERE id = v_current;
  END IF;
  RETURN QUERY INSERT INTO submissions AS s (era_number, model_id, sha256, rows, covered, late, raw, raw_encoding, ranks)
    VALUES (p_era, p_model, p_sha, p_rows, p_covered, v_late, p_raw, p_raw_encoding, p_ranks)
    RETURNING s.id, s.era_number, s.model_id, s.rows, s.sha256, s.late, s.created_at, true;
END
$$;
