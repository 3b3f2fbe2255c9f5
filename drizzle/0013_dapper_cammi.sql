ALTER TABLE "alert_rules" ADD COLUMN "paused_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "alert_rules" ADD COLUMN "paused_reason" text;--> statement-breakpoint
ALTER TABLE "alert_rules" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
ALTER TABLE "console_sessions" ADD COLUMN "checked_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "paused_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "paused_reason" text;--> statement-breakpoint
CREATE UNIQUE INDEX "alert_rules_dedupe_key" ON "alert_rules" USING btree ("dedupe_key") WHERE "alert_rules"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX "alert_rules_created_by_idx" ON "alert_rules" USING btree ("created_by");