CREATE TABLE "campaigns" (
	"name" text PRIMARY KEY NOT NULL,
	"stores" integer[] NOT NULL,
	"control_stores" integer[],
	"start_date" date NOT NULL,
	"end_date" date NOT NULL,
	"notes" text,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "store_segments" (
	"store_id" integer PRIMARY KEY NOT NULL,
	"segment" smallint NOT NULL,
	"name" text NOT NULL,
	"profile" jsonb NOT NULL,
	"refreshed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "store_segments_segment_idx" ON "store_segments" USING btree ("segment");