CREATE TABLE "subscription_optouts" (
	"subscription_id" text NOT NULL,
	"recipient" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscription_optouts_subscription_id_recipient_pk" PRIMARY KEY("subscription_id","recipient")
);
--> statement-breakpoint
DROP INDEX "webhook_deliveries_subscription_week_key";--> statement-breakpoint
ALTER TABLE "alert_notifications" ADD COLUMN "message_channel" text;--> statement-breakpoint
ALTER TABLE "alert_notifications" ADD COLUMN "message_id" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "recipient" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "recipient_roles" text[];--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "recipients" text;--> statement-breakpoint
ALTER TABLE "subscription_optouts" ADD CONSTRAINT "subscription_optouts_subscription_id_webhook_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."webhook_subscriptions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_subscription_week_recipient_key" ON "webhook_deliveries" USING btree ("subscription_id","week","recipient");