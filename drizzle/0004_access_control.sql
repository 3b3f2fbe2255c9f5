CREATE TABLE "access_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"principal" text NOT NULL,
	"role" text NOT NULL,
	"scope_kind" text NOT NULL,
	"scope_value" text DEFAULT '' NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "channel_scopes" (
	"platform" text NOT NULL,
	"workspace" text DEFAULT '' NOT NULL,
	"channel" text NOT NULL,
	"scope_kind" text NOT NULL,
	"scope_value" text DEFAULT '' NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "channel_scopes_platform_workspace_channel_pk" PRIMARY KEY("platform","workspace","channel")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "access_grants_key" ON "access_grants" USING btree ("principal","role","scope_kind","scope_value");--> statement-breakpoint
CREATE INDEX "access_grants_principal_idx" ON "access_grants" USING btree ("principal");