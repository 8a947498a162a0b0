CREATE TABLE `mcp_auth_codes` (
	`code_hash` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`redirect_uri` text NOT NULL,
	`code_challenge` text NOT NULL,
	`resource` text NOT NULL,
	`scope` text NOT NULL,
	`username` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`replayed_at` integer,
	`family_id` text
);
--> statement-breakpoint
CREATE INDEX `mcp_auth_codes_expires` ON `mcp_auth_codes` (`expires_at`);--> statement-breakpoint
CREATE TABLE `mcp_family_tokens` (
	`jti` text PRIMARY KEY NOT NULL,
	`family_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `mcp_family_tokens_family` ON `mcp_family_tokens` (`family_id`);--> statement-breakpoint
CREATE TABLE `mcp_refresh_families` (
	`family_id` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`username` text NOT NULL,
	`resource` text NOT NULL,
	`scope` text NOT NULL,
	`created_at` integer NOT NULL,
	`consent_expires_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `mcp_refresh_families_consent` ON `mcp_refresh_families` (`consent_expires_at`);--> statement-breakpoint
CREATE TABLE `mcp_refresh_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`family_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`spent_at` integer
);
--> statement-breakpoint
CREATE INDEX `mcp_refresh_tokens_family` ON `mcp_refresh_tokens` (`family_id`);--> statement-breakpoint
CREATE TABLE `mcp_registered_clients` (
	`client_id` text PRIMARY KEY NOT NULL,
	`client_name` text,
	`redirect_uris` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `mcp_registered_clients_last_used` ON `mcp_registered_clients` (`last_used_at`);