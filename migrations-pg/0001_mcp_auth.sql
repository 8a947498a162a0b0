CREATE TABLE "mcp_auth_codes" (
	"code_hash" text PRIMARY KEY NOT NULL,
	"client_id" text NOT NULL,
	"redirect_uri" text NOT NULL,
	"code_challenge" text NOT NULL,
	"resource" text NOT NULL,
	"scope" text NOT NULL,
	"username" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"used_at" bigint,
	"replayed_at" bigint,
	"family_id" text
);
--> statement-breakpoint
CREATE TABLE "mcp_family_tokens" (
	"jti" text PRIMARY KEY NOT NULL,
	"family_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mcp_refresh_families" (
	"family_id" text PRIMARY KEY NOT NULL,
	"client_id" text NOT NULL,
	"username" text NOT NULL,
	"resource" text NOT NULL,
	"scope" text NOT NULL,
	"created_at" bigint NOT NULL,
	"consent_expires_at" bigint NOT NULL,
	"revoked_at" bigint
);
--> statement-breakpoint
CREATE TABLE "mcp_refresh_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"family_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"spent_at" bigint
);
--> statement-breakpoint
CREATE TABLE "mcp_registered_clients" (
	"client_id" text PRIMARY KEY NOT NULL,
	"client_name" text,
	"redirect_uris" text NOT NULL,
	"created_at" bigint NOT NULL,
	"last_used_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "mcp_auth_codes_expires" ON "mcp_auth_codes" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "mcp_family_tokens_family" ON "mcp_family_tokens" USING btree ("family_id");--> statement-breakpoint
CREATE INDEX "mcp_refresh_families_consent" ON "mcp_refresh_families" USING btree ("consent_expires_at");--> statement-breakpoint
CREATE INDEX "mcp_refresh_tokens_family" ON "mcp_refresh_tokens" USING btree ("family_id");--> statement-breakpoint
CREATE INDEX "mcp_registered_clients_last_used" ON "mcp_registered_clients" USING btree ("last_used_at");