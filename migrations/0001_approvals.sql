CREATE TABLE `approval_requests` (
	`auth_req_id` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`username` text NOT NULL,
	`scope` text NOT NULL,
	`aud` text NOT NULL,
	`binding_message` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`interval` integer NOT NULL,
	`next_poll_at` integer NOT NULL,
	`status` text NOT NULL,
	`approved_scope` text,
	`decided_at` integer,
	`decided_by` text,
	`issued_jti` text
);
--> statement-breakpoint
CREATE INDEX `approval_requests_status_created` ON `approval_requests` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `approval_requests_username` ON `approval_requests` (`username`);