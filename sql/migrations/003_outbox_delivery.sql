-- 003_outbox_delivery.sql: what the mailer (pf-mailer) records while it
-- delivers the outbox: attempts, the last error, when a row may be tried
-- again, how many of a row's messages have gone, and the rows given up.
-- An insert notifies listening mailers, so mail leaves without waiting for
-- a sweep.

COMMENT ON COLUMN outbox.delivered_at IS 'When the mailer sent the last of the row''s messages; NULL until then.';
ALTER TABLE outbox ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0);
COMMENT ON COLUMN outbox.attempts IS 'SMTP transactions tried for this row, successful or not.';
ALTER TABLE outbox ADD COLUMN failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0);
COMMENT ON COLUMN outbox.failures IS 'Temporary failures in a row of the message now due (reset when it is sent); the backoff and the attempt limit count these.';
ALTER TABLE outbox ADD COLUMN messages_sent smallint NOT NULL DEFAULT 0 CHECK (messages_sent >= 0);
COMMENT ON COLUMN outbox.messages_sent IS 'Messages of this row already handed to the SMTP server or given up (a refund request is two: the customer''s acknowledgement, then support''s notification), so a crash resends at most the one in flight.';
ALTER TABLE outbox ADD COLUMN messages_failed smallint NOT NULL DEFAULT 0 CHECK (messages_failed >= 0);
COMMENT ON COLUMN outbox.messages_failed IS 'Messages of this row given up (permanent SMTP failure, no usable address, or the attempt limit).';
ALTER TABLE outbox ADD COLUMN next_attempt_at timestamptz;
COMMENT ON COLUMN outbox.next_attempt_at IS 'After a temporary failure: not before this time (exponential backoff with jitter). NULL: at once.';
ALTER TABLE outbox ADD COLUMN last_error text CHECK (char_length(last_error) <= 500);
COMMENT ON COLUMN outbox.last_error IS 'The last failure, as the mailer logged it (SMTP reply or libcurl error); kept after a later success.';
ALTER TABLE outbox ADD COLUMN failed_at timestamptz;
COMMENT ON COLUMN outbox.failed_at IS 'When the mailer finished the row with at least one message given up; such a row is never tried again.';
ALTER TABLE outbox ADD CONSTRAINT outbox_finished_once CHECK (delivered_at IS NULL OR failed_at IS NULL);

-- the mailer's claim walks pending rows in id order (failed rows, which
-- stay for inspection, are not in it) and checks each against its user's
-- older pending rows, so a user's mail leaves in id order and one user's
-- retries never hold back another's
CREATE INDEX outbox_pending ON outbox (id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_pending_by_user ON outbox (user_id, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
-- the retention sweep deletes delivered rows oldest first
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- delivered at COMMIT, once per transaction (equal payloads are folded)
    PERFORM pg_notify('outbox_inserted', '');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION outbox_notify() IS 'Wakes the mailers (LISTEN outbox_inserted) when outbox rows commit.';
CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
