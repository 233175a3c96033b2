-- 002_refunds.sql: what refunds, support review and AI tasks need beyond
-- 001: a stable order for records created in the same second, the
-- invariants of decided refund requests, provider charges recorded once,
-- and the indexes the refund form and duplicate detection read.

-- charged_at / submitted_at have one-second resolution and charges may be
-- back-dated; seq breaks ties so "newest first" is deterministic.
ALTER TABLE charges ADD COLUMN seq bigserial NOT NULL;
COMMENT ON COLUMN charges.seq IS 'Insertion order; breaks ties between charges of the same second.';
ALTER TABLE refund_requests ADD COLUMN seq bigserial NOT NULL;
COMMENT ON COLUMN refund_requests.seq IS 'Insertion order; breaks ties between requests of the same second.';

COMMENT ON COLUMN charges.provider_ref IS 'The provider''s reference for charges reported through /internal/charges; NULL for checkout and renewal charges (their subscription holds the checkout reference).';
COMMENT ON COLUMN charges.refunded_cents IS 'Total refunded so far (support approvals and automatic duplicate refunds).';
COMMENT ON COLUMN charges.refunded_at IS 'When the last refund of this charge was made.';
COMMENT ON COLUMN charges.credits IS 'Credit packs: the credits the pack added to the purchased balance.';
-- a provider payment is one charge, however often its webhook is delivered
CREATE UNIQUE INDEX charges_one_per_provider_ref ON charges (provider_ref) WHERE provider_ref IS NOT NULL;
-- duplicate detection: other charges of the same subscription period
CREATE INDEX charges_by_period ON charges (subscription_id, period_start) WHERE kind = 'subscription';

-- only the reasons policy section 4 allows are ever stored (the excluded
-- ones of section 5 are refused before anything is written)
ALTER TABLE refund_requests ADD CONSTRAINT refund_requests_reason_eligible
    CHECK (reason IN ('duplicate_charge', 'system_failure', 'billing_error', 'unauthorized_charge'));
-- system_failure names a task; the other reasons name a charge
ALTER TABLE refund_requests ADD CONSTRAINT refund_requests_reason_fits_record
    CHECK ((reason = 'system_failure') = (task_id IS NOT NULL));
-- money is refunded only on an approved charge request, and always is
ALTER TABLE refund_requests ADD CONSTRAINT refund_requests_refund_only_when_approved
    CHECK ((refunded_cents IS NOT NULL) = (status = 'approved' AND charge_id IS NOT NULL));
ALTER TABLE refund_requests ADD CONSTRAINT refund_requests_decided_by_set
    CHECK ((decided_at IS NULL) = (decided_by IS NULL));
COMMENT ON COLUMN refund_requests.email IS 'Contact address given on the form (default: the account''s address at submission).';
COMMENT ON COLUMN refund_requests.respond_by IS 'End (23:59:59Z) of the 5th business day after submission (policy 6).';
COMMENT ON COLUMN refund_requests.decided_by IS 'The support agent''s sub, or ''system'' for an automatic decision.';
COMMENT ON COLUMN refund_requests.refunded_cents IS 'Approved charge requests: the amount this decision refunded.';

ALTER TABLE users ADD CONSTRAINT users_suspension_note_length CHECK (char_length(suspension_note) <= 2000);
COMMENT ON COLUMN users.suspension_note IS 'Support''s note given with a Terms of Service suspension.';

COMMENT ON COLUMN tasks.included_epoch IS 'users.included_epoch when the task spent: returned included credits go back as included only while it is still current.';
COMMENT ON COLUMN tasks.finished_at IS 'When the task completed or failed (for a failed task: the start of its 14-day refund window).';
-- the refund form: failed tasks whose credits were not returned
CREATE INDEX tasks_failed_unreturned ON tasks (user_id, finished_at)
    WHERE status = 'failed' AND NOT credits_returned;
