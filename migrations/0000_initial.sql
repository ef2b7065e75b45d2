CREATE TABLE "accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "accounts_role_check" CHECK ("accounts"."role" in ('admin', 'operator', 'author'))
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"secret_hash" text NOT NULL,
	"hint" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_id" uuid,
	"action" text NOT NULL,
	"subject" text NOT NULL,
	"reason" text,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "eras" (
	"number" integer PRIMARY KEY NOT NULL,
	"opens_at" timestamp with time zone NOT NULL,
	"closes_at" timestamp with time zone NOT NULL,
	"main_target" text NOT NULL,
	"min_coverage" double precision DEFAULT 1 NOT NULL,
	"corr_multiplier" numeric DEFAULT '0.5' NOT NULL,
	"mmc_multiplier" numeric DEFAULT '2' NOT NULL,
	"clip" numeric DEFAULT '0.05' NOT NULL,
	"stake_threshold" numeric DEFAULT '72000' NOT NULL,
	"universe_size" integer DEFAULT 0 NOT NULL,
	"universe_digest" text,
	"closed_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "eras_window_check" CHECK ("eras"."closes_at" > "eras"."opens_at"),
	CONSTRAINT "eras_number_check" CHECK ("eras"."number" >= 0)
);
--> statement-breakpoint
CREATE TABLE "meta_model_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"era_number" integer NOT NULL,
	"seq" integer NOT NULL,
	"trigger" text NOT NULL,
	"policy_id" uuid,
	"models" integer NOT NULL,
	"total_stake" numeric NOT NULL,
	"tradable" integer NOT NULL,
	"unconstrained" "bytea" NOT NULL,
	"signal" "bytea" NOT NULL,
	"value" "bytea" NOT NULL,
	"excluded_by" jsonb NOT NULL,
	"observed_by" jsonb NOT NULL,
	"policy_report" jsonb,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"duration_ms" double precision NOT NULL,
	"computed_by" uuid
);
--> statement-breakpoint
CREATE TABLE "models" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"account_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"document" jsonb NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"author_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"activated_at" timestamp with time zone,
	"activated_by" uuid,
	"retired_at" timestamp with time zone,
	CONSTRAINT "policies_status_check" CHECK ("policies"."status" in ('draft', 'active', 'retired'))
);
--> statement-breakpoint
CREATE TABLE "run_inputs" (
	"run_id" uuid NOT NULL,
	"model_id" uuid NOT NULL,
	"submission_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"stake" numeric NOT NULL,
	CONSTRAINT "run_inputs_run_id_model_id_pk" PRIMARY KEY("run_id","model_id")
);
--> statement-breakpoint
CREATE TABLE "scores" (
	"submission_id" uuid NOT NULL,
	"target" text NOT NULL,
	"era_number" integer NOT NULL,
	"model_id" uuid NOT NULL,
	"run_id" uuid,
	"status" text NOT NULL,
	"corr" double precision,
	"mmc" double precision,
	"stake" numeric,
	"payout" numeric,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scores_submission_id_target_pk" PRIMARY KEY("submission_id","target")
);
--> statement-breakpoint
CREATE TABLE "stake_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"model_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"delta" numeric NOT NULL,
	"balance" numeric NOT NULL,
	"era_number" integer,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stake_events_kind_check" CHECK ("stake_events"."kind" in ('set', 'payout')),
	CONSTRAINT "stake_events_payout_era_check" CHECK (("stake_events"."kind" = 'payout') = ("stake_events"."era_number" is not null))
);
--> statement-breakpoint
CREATE TABLE "submissions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"era_number" integer NOT NULL,
	"model_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"rows" integer NOT NULL,
	"covered" integer NOT NULL,
	"late" boolean NOT NULL,
	"superseded" boolean DEFAULT false NOT NULL,
	"raw" "bytea" NOT NULL,
	"ranks" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "targets" (
	"era_number" integer NOT NULL,
	"name" text NOT NULL,
	"values" "bytea" NOT NULL,
	"count" integer NOT NULL,
	"uploaded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"uploaded_by" uuid,
	CONSTRAINT "targets_era_number_name_pk" PRIMARY KEY("era_number","name")
);
--> statement-breakpoint
CREATE TABLE "universe_rows" (
	"era_number" integer NOT NULL,
	"position" integer NOT NULL,
	"id" text NOT NULL,
	"sector" text,
	"industry" text,
	"country" text,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "universe_rows_era_number_position_pk" PRIMARY KEY("era_number","position")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "eras" ADD CONSTRAINT "eras_created_by_accounts_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_model_runs" ADD CONSTRAINT "meta_model_runs_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_model_runs" ADD CONSTRAINT "meta_model_runs_policy_id_policies_id_fk" FOREIGN KEY ("policy_id") REFERENCES "public"."policies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_model_runs" ADD CONSTRAINT "meta_model_runs_computed_by_accounts_id_fk" FOREIGN KEY ("computed_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_author_id_accounts_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_activated_by_accounts_id_fk" FOREIGN KEY ("activated_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_inputs" ADD CONSTRAINT "run_inputs_run_id_meta_model_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."meta_model_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_inputs" ADD CONSTRAINT "run_inputs_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_inputs" ADD CONSTRAINT "run_inputs_submission_id_submissions_id_fk" FOREIGN KEY ("submission_id") REFERENCES "public"."submissions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scores" ADD CONSTRAINT "scores_submission_id_submissions_id_fk" FOREIGN KEY ("submission_id") REFERENCES "public"."submissions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scores" ADD CONSTRAINT "scores_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scores" ADD CONSTRAINT "scores_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scores" ADD CONSTRAINT "scores_run_id_meta_model_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."meta_model_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stake_events" ADD CONSTRAINT "stake_events_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stake_events" ADD CONSTRAINT "stake_events_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "targets" ADD CONSTRAINT "targets_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "targets" ADD CONSTRAINT "targets_uploaded_by_accounts_id_fk" FOREIGN KEY ("uploaded_by") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "universe_rows" ADD CONSTRAINT "universe_rows_era_number_eras_number_fk" FOREIGN KEY ("era_number") REFERENCES "public"."eras"("number") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "api_keys" USING btree ("secret_hash");--> statement-breakpoint
CREATE INDEX "api_keys_account_idx" ON "api_keys" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "audit_log_subject_idx" ON "audit_log" USING btree ("subject","id");--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "eras_open_idx" ON "eras" USING btree ("closes_at") WHERE "eras"."closed_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "meta_model_runs_era_seq_key" ON "meta_model_runs" USING btree ("era_number","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "models_name_key" ON "models" USING btree ("name");--> statement-breakpoint
CREATE INDEX "models_account_idx" ON "models" USING btree ("account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "policies_name_version_key" ON "policies" USING btree ("name","version");--> statement-breakpoint
CREATE UNIQUE INDEX "policies_one_active_key" ON "policies" USING btree ((true)) WHERE "policies"."status" = 'active';--> statement-breakpoint
CREATE INDEX "scores_era_target_idx" ON "scores" USING btree ("era_number","target");--> statement-breakpoint
CREATE INDEX "scores_model_idx" ON "scores" USING btree ("model_id");--> statement-breakpoint
CREATE INDEX "stake_events_model_at_idx" ON "stake_events" USING btree ("model_id","at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "stake_events_payout_once_key" ON "stake_events" USING btree ("model_id","era_number") WHERE "stake_events"."kind" = 'payout';--> statement-breakpoint
CREATE INDEX "submissions_model_idx" ON "submissions" USING btree ("model_id","created_at");--> statement-breakpoint
CREATE INDEX "submissions_era_idx" ON "submissions" USING btree ("era_number");--> statement-breakpoint
CREATE UNIQUE INDEX "submissions_current_key" ON "submissions" USING btree ("era_number","model_id","late") WHERE not "submissions"."superseded";--> statement-breakpoint
CREATE UNIQUE INDEX "universe_rows_era_id_key" ON "universe_rows" USING btree ("era_number","id");