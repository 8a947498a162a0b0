ALTER TABLE `mcp_registered_clients` ADD `auth_method` text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE `mcp_registered_clients` ADD `secret_sha256` text;--> statement-breakpoint
ALTER TABLE `mcp_registered_clients` ADD `jwks` text;