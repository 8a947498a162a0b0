CREATE TABLE "approval_requests" (
	"auth_req_id" text PRIMARY KEY NOT NULL,
	"client_id" text NOT NULL,
	"username" text NOT NULL,
	"scope" text NOT NULL,
	"aud" text NOT NULL,
	"binding_message" text,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"interval" integer NOT NULL,
	"next_poll_at" bigint NOT NULL,
	"status" text NOT NULL,
	"approved_scope" text,
	"decided_at" bigint,
	"decided_by" text,
	"issued_jti" text
);
--> statement-breakpoint
CREATE TABLE "client_assertion_jtis" (
	"client_id" text NOT NULL,
	"jti" text NOT NULL,
	"exp" bigint NOT NULL,
	CONSTRAINT "client_assertion_jtis_client_id_jti_pk" PRIMARY KEY("client_id","jti")
);
--> statement-breakpoint
CREATE TABLE "console_sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"role" text NOT NULL,
	"csrf_secret" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "refusals" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" bigint NOT NULL,
	"client_id" text NOT NULL,
	"grant_type" text NOT NULL,
	"subject_jti" text,
	"error" text NOT NULL,
	"reason" text,
	"error_description" text NOT NULL,
	"requested" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"private_jwk" text NOT NULL,
	"public_jwk" text NOT NULL,
	"created_at" bigint NOT NULL,
	"retired_at" bigint
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"jti" text PRIMARY KEY NOT NULL,
	"parent_jti" text,
	"sub" text NOT NULL,
	"act" text,
	"client_id" text NOT NULL,
	"grant_type" text NOT NULL,
	"scope" text NOT NULL,
	"aud" text NOT NULL,
	"iat" bigint NOT NULL,
	"exp" bigint NOT NULL,
	"revoked_at" bigint,
	"revoked_via" text,
	"root_jti" text,
	"hop" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX "approval_requests_status_created" ON "approval_requests" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "approval_requests_username" ON "approval_requests" USING btree ("username");--> statement-breakpoint
CREATE INDEX "approval_requests_issued_jti" ON "approval_requests" USING btree ("issued_jti");--> statement-breakpoint
CREATE INDEX "approval_requests_client_pending" ON "approval_requests" USING btree ("client_id","status","expires_at");--> statement-breakpoint
CREATE INDEX "approval_requests_client_user_pending" ON "approval_requests" USING btree ("client_id","username","status","expires_at");--> statement-breakpoint
CREATE INDEX "approval_requests_expires" ON "approval_requests" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "client_assertion_jtis_exp" ON "client_assertion_jtis" USING btree ("exp");--> statement-breakpoint
CREATE INDEX "console_sessions_expires" ON "console_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "refusals_subject_jti" ON "refusals" USING btree ("subject_jti");--> statement-breakpoint
CREATE INDEX "refusals_at" ON "refusals" USING btree ("at");--> statement-breakpoint
CREATE INDEX "tokens_parent_jti" ON "tokens" USING btree ("parent_jti");--> statement-breakpoint
CREATE INDEX "tokens_sub_iat" ON "tokens" USING btree ("sub","iat");--> statement-breakpoint
CREATE INDEX "tokens_client_iat" ON "tokens" USING btree ("client_id","iat");--> statement-breakpoint
CREATE INDEX "tokens_iat" ON "tokens" USING btree ("iat");--> statement-breakpoint
CREATE INDEX "tokens_root_exp" ON "tokens" USING btree ("root_jti","exp");--> statement-breakpoint
CREATE INDEX "tokens_roots_exp" ON "tokens" USING btree ("exp") WHERE "tokens"."root_jti" = "tokens"."jti";