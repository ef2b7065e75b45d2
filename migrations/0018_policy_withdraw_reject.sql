-- A draft may be rejected by an admin (with a reason) or withdrawn by its author. A rejection is
-- kept for good; a withdrawal deletes the draft, so its version number is free again when it was
-- the latest of its name. Only a version that was never activated, scheduled or rejected may be
-- deleted: once it has taken part in the history it stays, as before.
CREATE TABLE "policy_rejections" (
	"policy_id" uuid PRIMARY KEY NOT NULL,
	"rejected_by" uuid NOT NULL,
	"reason" text NOT NULL,
	"rejected_at" timestamp with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
ALTER TABLE "policy_rejections" ADD CONSTRAINT "policy_rejections_policy_id_policies_id_fk" FOREIGN KEY ("policy_id") REFERENCES "public"."policies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policy_rejections" ADD CONSTRAINT "policy_rejections_rejected_by_accounts_id_fk" FOREIGN KEY ("rejected_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE TRIGGER "policy_rejections_append_only" BEFORE UPDATE OR DELETE ON "policy_rejections"
  FOR EACH ROW EXECUTE FUNCTION "refuse_change"();--> statement-breakpoint
CREATE OR REPLACE FUNCTION "policy_document_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF EXISTS (SELECT 1 FROM "policy_activations" a WHERE a."policy_id" = OLD."id")
       OR EXISTS (SELECT 1 FROM "policy_rejections" r WHERE r."policy_id" = OLD."id")
       OR EXISTS (SELECT 1 FROM "meta_model_runs" m WHERE m."policy_id" = OLD."id") THEN
      RAISE EXCEPTION 'policy versions that were activated, scheduled or rejected are immutable' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  IF NEW.document IS DISTINCT FROM OLD.document OR NEW.name <> OLD.name
     OR NEW.version <> OLD.version OR NEW.author_id <> OLD.author_id THEN
    RAISE EXCEPTION 'policy versions are immutable' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
