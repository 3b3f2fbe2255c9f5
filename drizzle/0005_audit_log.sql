CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"principal" text NOT NULL,
	"platform" text NOT NULL,
	"workspace" text,
	"channel" text,
	"command" text,
	"method" text,
	"route" text,
	"status" smallint,
	"scope" text,
	"outcome" text NOT NULL,
	"latency_ms" integer NOT NULL,
	"ref" text,
	"client" text
);
--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_log_principal_idx" ON "audit_log" USING btree ("principal","at");