ALTER TABLE `tokens` ADD `root_jti` text;--> statement-breakpoint
ALTER TABLE `tokens` ADD `hop` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Hand-written: fill root_jti and hop for the rows recorded before this migration, walking
-- each chain once from its root (a row whose parent is absent is a root).
UPDATE `tokens` SET `root_jti` = w.`root_jti`, `hop` = w.`hop` FROM (
  WITH RECURSIVE w(`jti`, `root_jti`, `hop`) AS (
    SELECT `jti`, `jti`, 0 FROM `tokens` t
      WHERE t.`parent_jti` IS NULL OR NOT EXISTS (SELECT 1 FROM `tokens` p WHERE p.`jti` = t.`parent_jti`)
    UNION ALL
    SELECT c.`jti`, w.`root_jti`, w.`hop` + 1 FROM `tokens` c JOIN w ON c.`parent_jti` = w.`jti`
  )
  SELECT `jti`, `root_jti`, `hop` FROM w
) AS w WHERE `tokens`.`jti` = w.`jti`;--> statement-breakpoint
UPDATE `tokens` SET `root_jti` = `jti` WHERE `root_jti` IS NULL;--> statement-breakpoint
CREATE INDEX `tokens_root_exp` ON `tokens` (`root_jti`,`exp`);--> statement-breakpoint
CREATE INDEX `tokens_roots_exp` ON `tokens` (`exp`) WHERE "tokens"."root_jti" = "tokens"."jti";--> statement-breakpoint
CREATE INDEX `approval_requests_client_pending` ON `approval_requests` (`client_id`,`status`,`expires_at`);--> statement-breakpoint
CREATE INDEX `approval_requests_client_user_pending` ON `approval_requests` (`client_id`,`username`,`status`,`expires_at`);--> statement-breakpoint
CREATE INDEX `approval_requests_expires` ON `approval_requests` (`expires_at`);