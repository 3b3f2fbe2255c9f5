CREATE TABLE "console_login_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"principal" text NOT NULL,
	"roles" text[] DEFAULT '{}'::text[] NOT NULL,
	"issued_via" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "console_sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"principal" text NOT NULL,
	"roles" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "console_login_tokens_expires_at_idx" ON "console_login_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "console_sessions_expires_at_idx" ON "console_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "console_sessions_principal_idx" ON "console_sessions" USING btree ("principal");