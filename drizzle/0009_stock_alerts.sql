CREATE TABLE "alert_notifications" (
	"id" text PRIMARY KEY NOT NULL,
	"rule_id" text NOT NULL,
	"episode" integer NOT NULL,
	"kind" text NOT NULL,
	"detail" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_token" text,
	"lease_until" timestamp with time zone,
	"last_status" integer,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "alert_rules" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"scope_kind" text NOT NULL,
	"scope_value" text DEFAULT '' NOT NULL,
	"dept_id" integer,
	"condition" jsonb NOT NULL,
	"target_kind" text NOT NULL,
	"target_secret" text,
	"target_hint" text NOT NULL,
	"workspace" text,
	"channel" text,
	"created_by" text,
	"created_by_roles" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	"state" text DEFAULT 'ok' NOT NULL,
	"episode" integer DEFAULT 0 NOT NULL,
	"firing_since" timestamp with time zone,
	"last_evaluated_at" timestamp with time zone,
	"last_result" jsonb,
	"snoozed_until" timestamp with time zone,
	"acknowledged_episode" integer,
	"acknowledged_by" text
);
--> statement-breakpoint
CREATE TABLE "demand_forecasts" (
	"store_id" integer NOT NULL,
	"dept_id" integer NOT NULL,
	"first_week" date NOT NULL,
	"model" text NOT NULL,
	"p10" jsonb NOT NULL,
	"p50" jsonb NOT NULL,
	"p90" jsonb NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "demand_forecasts_store_id_dept_id_pk" PRIMARY KEY("store_id","dept_id")
);
--> statement-breakpoint
CREATE TABLE "stock_snapshots" (
	"store_id" integer NOT NULL,
	"dept_id" integer NOT NULL,
	"as_of" date NOT NULL,
	"on_hand" double precision NOT NULL,
	"on_order" double precision,
	"on_order_date" date,
	"lead_time_weeks" double precision,
	CONSTRAINT "stock_snapshots_store_id_dept_id_as_of_pk" PRIMARY KEY("store_id","dept_id","as_of")
);
--> statement-breakpoint
ALTER TABLE "alert_notifications" ADD CONSTRAINT "alert_notifications_rule_id_alert_rules_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."alert_rules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "alert_notifications_episode_key" ON "alert_notifications" USING btree ("rule_id","episode","kind");--> statement-breakpoint
CREATE INDEX "alert_notifications_due_idx" ON "alert_notifications" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "alert_rules_scope_idx" ON "alert_rules" USING btree ("scope_kind","scope_value");--> statement-breakpoint
CREATE INDEX "stock_snapshots_as_of_idx" ON "stock_snapshots" USING btree ("as_of");