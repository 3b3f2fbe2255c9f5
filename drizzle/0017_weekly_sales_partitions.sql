-- weekly_sales range-partitioned by week, one partition per quarter (src/db/partitions.ts):
-- a chain-wide new week then writes into a small, cached index instead of one leaf page per
-- series of the whole history. The rows are copied once; the primary key is built after the
-- copy (one sort per partition, faster than inserting into it row by row).
ALTER TABLE "weekly_sales" RENAME TO "weekly_sales_unpartitioned";--> statement-breakpoint
ALTER TABLE "weekly_sales_unpartitioned" RENAME CONSTRAINT "weekly_sales_store_id_dept_id_week_pk" TO "weekly_sales_unpartitioned_pk";--> statement-breakpoint
CREATE TABLE "weekly_sales" (
	"store_id" integer NOT NULL,
	"dept_id" integer NOT NULL,
	"week" date NOT NULL,
	"sales" double precision NOT NULL,
	"is_holiday" boolean DEFAULT false NOT NULL
) PARTITION BY RANGE ("week");
--> statement-breakpoint
CREATE TABLE "weekly_sales_default" PARTITION OF "weekly_sales" DEFAULT;--> statement-breakpoint
DO $$
DECLARE q date;
BEGIN
  FOR q IN SELECT DISTINCT date_trunc('quarter', week)::date FROM weekly_sales_unpartitioned ORDER BY 1 LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF weekly_sales FOR VALUES FROM (%L) TO (%L)',
      'weekly_sales_' || extract(year FROM q) || 'q' || extract(quarter FROM q), q, (q + interval '3 months')::date);
  END LOOP;
END $$;--> statement-breakpoint
INSERT INTO "weekly_sales" ("store_id", "dept_id", "week", "sales", "is_holiday")
	SELECT "store_id", "dept_id", "week", "sales", "is_holiday" FROM "weekly_sales_unpartitioned";--> statement-breakpoint
DROP TABLE "weekly_sales_unpartitioned";--> statement-breakpoint
ALTER TABLE "weekly_sales" ADD CONSTRAINT "weekly_sales_store_id_dept_id_week_pk" PRIMARY KEY("store_id","dept_id","week");--> statement-breakpoint
-- Autovacuum never analyzes a partitioned table itself: join estimates over it need these.
ANALYZE "weekly_sales";
