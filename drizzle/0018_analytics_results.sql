CREATE TABLE "analytics_results" (
	"key" text PRIMARY KEY NOT NULL,
	"data_version" text NOT NULL,
	"value" jsonb NOT NULL,
	"compute_ms" integer NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL
);
