-- An identical re-send returns the first receipt also once the era has closed (or resolved): the
-- content is compared with the model's latest current submission of the era, on time or late,
-- not only with the current one of the lateness a new submission would get. A different body
-- after close is still stored as late and supersedes only the model's late one.
CREATE OR REPLACE FUNCTION "store_submission"(p_key uuid, p_era integer, p_model uuid, p_sha text, p_rows integer, p_covered integer,
                                   p_raw bytea, p_raw_encoding text, p_ranks bytea, p_digest text)
RETURNS TABLE (r_id uuid, r_era integer, r_model uuid, r_rows integer, r_sha text, r_late boolean,
               r_created_at timestamptz, r_created boolean)
LANGUAGE plpgsql AS $$
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
      FROM submissions s WHERE s.id = v_latest;
    RETURN;
  END IF;
  SELECT s.id INTO v_current FROM submissions s
    WHERE s.era_number = p_era AND s.model_id = p_model AND s.late = v_late AND NOT s.superseded;
  IF v_current IS NOT NULL THEN
    UPDATE submissions SET superseded = true WHERE id = v_current;
  END IF;
  RETURN QUERY INSERT INTO submissions AS s (era_number, model_id, sha256, rows, covered, late, raw, raw_encoding, ranks)
    VALUES (p_era, p_model, p_sha, p_rows, p_covered, v_late, p_raw, p_raw_encoding, p_ranks)
    RETURNING s.id, s.era_number, s.model_id, s.rows, s.sha256, s.late, s.created_at, true;
END
$$;
