CREATE TABLE `client_assertion_jtis` (
	`client_id` text NOT NULL,
	`jti` text NOT NULL,
	`exp` integer NOT NULL,
	PRIMARY KEY(`client_id`, `jti`)
);
--> statement-breakpoint
CREATE INDEX `client_assertion_jtis_exp` ON `client_assertion_jtis` (`exp`);--> statement-breakpoint
CREATE TABLE `refusals` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`client_id` text NOT NULL,
	`grant_type` text NOT NULL,
	`subject_jti` text,
	`error` text NOT NULL,
	`error_description` text NOT NULL,
	`requested` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `refusals_subject_jti` ON `refusals` (`subject_jti`);--> statement-breakpoint
CREATE INDEX `refusals_at` ON `refusals` (`at`);--> statement-breakpoint
CREATE TABLE `signing_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`alg` text NOT NULL,
	`private_jwk` text NOT NULL,
	`public_jwk` text NOT NULL,
	`created_at` integer NOT NULL,
	`retired_at` integer
);
--> statement-breakpoint
CREATE TABLE `tokens` (
	`jti` text PRIMARY KEY NOT NULL,
	`parent_jti` text,
	`sub` text NOT NULL,
	`act` text,
	`client_id` text NOT NULL,
	`grant_type` text NOT NULL,
	`scope` text NOT NULL,
	`aud` text NOT NULL,
	`iat` integer NOT NULL,
	`exp` integer NOT NULL,
	`revoked_at` integer,
	`revoked_via` text
);
--> statement-breakpoint
CREATE INDEX `tokens_parent_jti` ON `tokens` (`parent_jti`);--> statement-breakpoint
CREATE INDEX `tokens_sub_iat` ON `tokens` (`sub`,`iat`);--> statement-breakpoint
CREATE INDEX `tokens_client_iat` ON `tokens` (`client_id`,`iat`);--> statement-breakpoint
CREATE INDEX `tokens_iat` ON `tokens` (`iat`);