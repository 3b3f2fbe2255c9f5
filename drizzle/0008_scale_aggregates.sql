CREATE TABLE "dept_week_sales" (
	"dept_id" integer NOT NULL,
	"week" date NOT NULL,
	"sales" double precision NOT NULL,
	"store_count" integer NOT NULL,
	"is_holiday" boolean DEFAULT false NOT NULL,
	CONSTRAINT "dept_week_sales_dept_id_week_pk" PRIMARY KEY("dept_id","week")
);
--> statement-breakpoint
CREATE TABLE "store_holiday_weeks" (
	"store_id" integer NOT NULL,
	"week" date NOT NULL,
	"holiday_sales" double precision NOT NULL,
	"baseline_sales" double precision NOT NULL,
	"baseline_weeks" smallint NOT NULL,
	CONSTRAINT "store_holiday_weeks_week_store_id_pk" PRIMARY KEY("week","store_id")
);
--> statement-breakpoint
DROP INDEX "weekly_sales_dept_week_idx";--> statement-breakpoint
DROP INDEX "weekly_sales_week_idx";--> statement-breakpoint
CREATE INDEX "dept_week_sales_week_idx" ON "dept_week_sales" USING btree ("week");