ALTER TABLE "mcp_registered_clients" ADD COLUMN "auth_method" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "mcp_registered_clients" ADD COLUMN "secret_sha256" text;--> statement-breakpoint
ALTER TABLE "mcp_registered_clients" ADD COLUMN "jwks" text;