-- The ingest write gains two things (src/services/submissions.ts):
-- - it checks the caller's API key in the same round trip, SQLSTATE SWK01 when the key is
--   revoked or gone: the submission route authenticates from a remembered key lookup, and this
--   check keeps revocation immediate;
-- - raw values are stored in the most compact exact encoding (src/domain/raw.ts), float64 as
--   before or decimal (k / 10^d as 4-byte k), named by raw_encoding.
-- A new overload: the previous one stays, so replicas of the previous version keep working during
-- a rolling deploy (their raw values are float64, the column's default).
ALTER TABLE "submissions" ADD COLUMN "raw_encoding" text DEFAULT 'float64' NOT NULL;--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_raw_encoding_check" CHECK ("raw_encoding" IN ('float64', 'decimal'));--> statement-breakpoint
CREATE FUNCTION "store_submission"(p_key uuid, p_era integer, p_model uuid, p_sha text, p_rows integer, p_covered integer,
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
  PERFORM 1 FROM api_keys k WHERE k.id = p_key AND k.revoked_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the API key is unknown or has been revoked' USING ERRCODE = 'SWK01';
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
