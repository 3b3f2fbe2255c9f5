CREATE TABLE "forecast_log" (
	"model_version" integer NOT NULL,
	"store_id" integer NOT NULL,
	"dept_id" integer NOT NULL,
	"origin" date NOT NULL,
	"target_week" date NOT NULL,
	"horizon" smallint NOT NULL,
	"p10" double precision NOT NULL,
	"p50" double precision NOT NULL,
	"p90" double precision NOT NULL,
	"naive_p10" double precision,
	"naive_p50" double precision,
	"naive_p90" double precision,
	"source" text NOT NULL,
	"logged_at" timestamp with time zone DEFAULT now() NOT NULL,
	"actual" double precision,
	"is_holiday" boolean,
	"scored_at" timestamp with time zone,
	CONSTRAINT "forecast_log_model_version_store_id_dept_id_origin_target_week_pk" PRIMARY KEY("model_version","store_id","dept_id","origin","target_week")
);
--> statement-breakpoint
CREATE TABLE "model_retrains" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"requested_by" text,
	"status" text DEFAULT 'running' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"data_through" date,
	"champion_version" integer,
	"challenger_version" integer,
	"holdout_from" date,
	"holdout_weeks" smallint,
	"champion_wmae" double precision,
	"challenger_wmae" double precision,
	"naive_wmae" double precision,
	"margin" double precision,
	"reason" text
);
--> statement-breakpoint
CREATE INDEX "forecast_log_target_idx" ON "forecast_log" USING btree ("target_week","store_id","dept_id");--> statement-breakpoint
CREATE INDEX "model_retrains_started_at_idx" ON "model_retrains" USING btree ("started_at");