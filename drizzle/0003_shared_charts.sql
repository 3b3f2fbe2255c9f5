CREATE TABLE "charts" (
	"id" text PRIMARY KEY NOT NULL,
	"spec" jsonb,
	"png" "bytea",
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "charts_expires_at_idx" ON "charts" USING btree ("expires_at");--> statement-breakpoint
ALTER TABLE "webhook_deliveries" DROP COLUMN "chart_png";