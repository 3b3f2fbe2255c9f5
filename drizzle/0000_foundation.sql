CREATE TABLE "departments" (
	"dept_id" integer PRIMARY KEY NOT NULL,
	"name" text
);
--> statement-breakpoint
CREATE TABLE "forecast_weeks" (
	"store_id" integer NOT NULL,
	"dept_id" integer NOT NULL,
	"week" date NOT NULL,
	"is_holiday" boolean DEFAULT false NOT NULL,
	CONSTRAINT "forecast_weeks_store_id_dept_id_week_pk" PRIMARY KEY("store_id","dept_id","week")
);
--> statement-breakpoint
CREATE TABLE "holidays" (
	"name" text NOT NULL,
	"week" date NOT NULL,
	CONSTRAINT "holidays_week_pk" PRIMARY KEY("week")
);
--> statement-breakpoint
CREATE TABLE "import_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"format" text NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"rows_read" integer DEFAULT 0 NOT NULL,
	"rows_accepted" integer DEFAULT 0 NOT NULL,
	"rows_rejected" integer DEFAULT 0 NOT NULL,
	"rejected" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "store_features" (
	"store_id" integer NOT NULL,
	"week" date NOT NULL,
	"temperature" double precision,
	"fuel_price" double precision,
	"markdown1" double precision,
	"markdown2" double precision,
	"markdown3" double precision,
	"markdown4" double precision,
	"markdown5" double precision,
	"cpi" double precision,
	"unemployment" double precision,
	"is_holiday" boolean DEFAULT false NOT NULL,
	CONSTRAINT "store_features_store_id_week_pk" PRIMARY KEY("store_id","week")
);
--> statement-breakpoint
CREATE TABLE "store_week_sales" (
	"store_id" integer NOT NULL,
	"week" date NOT NULL,
	"sales" double precision NOT NULL,
	"is_holiday" boolean DEFAULT false NOT NULL,
	"dept_count" smallint DEFAULT 0 NOT NULL,
	"source" text NOT NULL,
	CONSTRAINT "store_week_sales_store_id_week_pk" PRIMARY KEY("store_id","week")
);
--> statement-breakpoint
CREATE TABLE "stores" (
	"store_id" integer PRIMARY KEY NOT NULL,
	"type" text,
	"size" integer,
	"region" text,
	"timezone" text
);
--> statement-breakpoint
CREATE TABLE "weekly_sales" (
	"store_id" integer NOT NULL,
	"dept_id" integer NOT NULL,
	"week" date NOT NULL,
	"sales" double precision NOT NULL,
	"is_holiday" boolean DEFAULT false NOT NULL,
	CONSTRAINT "weekly_sales_store_id_dept_id_week_pk" PRIMARY KEY("store_id","dept_id","week")
);
--> statement-breakpoint
CREATE INDEX "holidays_name_idx" ON "holidays" USING btree ("name");--> statement-breakpoint
CREATE INDEX "store_week_sales_week_idx" ON "store_week_sales" USING btree ("week");--> statement-breakpoint
CREATE INDEX "weekly_sales_dept_week_idx" ON "weekly_sales" USING btree ("dept_id","week");--> statement-breakpoint
CREATE INDEX "weekly_sales_week_idx" ON "weekly_sales" USING btree ("week");