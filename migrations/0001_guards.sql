-- Packed vectors are incompressible floats and rank codes: store them out of line, uncompressed.
ALTER TABLE "submissions" ALTER COLUMN "raw" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "submissions" ALTER COLUMN "ranks" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "targets" ALTER COLUMN "values" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "meta_model_runs" ALTER COLUMN "unconstrained" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "meta_model_runs" ALTER COLUMN "signal" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "meta_model_runs" ALTER COLUMN "value" SET STORAGE EXTERNAL;--> statement-breakpoint
CREATE FUNCTION "refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;--> statement-breakpoint
CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE ON "audit_log"
  FOR EACH ROW EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "audit_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE TRIGGER "stake_events_append_only" BEFORE UPDATE OR DELETE ON "stake_events"
  FOR EACH ROW EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE FUNCTION "policy_document_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.document IS DISTINCT FROM OLD.document OR NEW.name <> OLD.name
     OR NEW.version <> OLD.version OR NEW.author_id <> OLD.author_id THEN
    RAISE EXCEPTION 'policy versions are immutable' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "policies_immutable" BEFORE UPDATE OR DELETE ON "policies"
  FOR EACH ROW EXECUTE FUNCTION "policy_document_immutable"();
