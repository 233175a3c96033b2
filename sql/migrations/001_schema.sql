-- 001_schema.sql: the account service's data. Every invariant the policy
-- relies on is a constraint here, not only a check in C.

CREATE TABLE plans (
    name             text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,31}$'),
    rank             integer NOT NULL UNIQUE CHECK (rank >= 0),
    price_cents      bigint  NOT NULL CHECK (price_cents >= 0),
    currency         text    NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    included_credits bigint  NOT NULL CHECK (included_credits >= 0),
    -- the free plan is the one with rank 0 and price 0; every other plan is paid
    CHECK ((rank = 0) = (price_cents = 0))
);
COMMENT ON TABLE plans IS 'Subscription plans; editable by operators. rank orders them for downgrades.';
COMMENT ON COLUMN plans.included_credits IS 'Monthly included-credit allowance (policy 2), reset each period.';

INSERT INTO plans (name, rank, price_cents, currency, included_credits) VALUES
    ('free',   0,    0, 'USD',   50),
    ('pro',    1, 2900, 'USD',  800),
    ('studio', 2, 7900, 'USD', 2500);

CREATE TABLE users (
    id                   text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.@:-]{1,64}$'),
    email                text CHECK (char_length(email) <= 254),
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at           timestamptz NOT NULL,
    suspended_at         timestamptz,
    suspension_note      text,
    included_remaining   bigint NOT NULL CHECK (included_remaining >= 0),
    included_allowance   bigint NOT NULL CHECK (included_allowance >= 0),
    -- changes at every reset of the included balance: a task remembers the
    -- epoch it spent from, so returned credits can tell if that balance still exists
    included_epoch       bigint NOT NULL DEFAULT 1,
    purchased_remaining  bigint NOT NULL DEFAULT 0 CHECK (purchased_remaining >= 0),
    CHECK ((status = 'suspended') = (suspended_at IS NOT NULL))
);
COMMENT ON TABLE users IS 'Accounts, provisioned on first sight of a token sub; the row also holds the two credit balances and is the per-user lock.';

CREATE TABLE subscriptions (
    id                    bigserial PRIMARY KEY,
    user_id               text NOT NULL REFERENCES users(id),
    plan                  text NOT NULL REFERENCES plans(name),
    status                text NOT NULL CHECK (status IN ('active', 'ended')),
    anchor                timestamptz NOT NULL,
    period_index          integer NOT NULL CHECK (period_index >= 0),
    current_period_start  timestamptz NOT NULL,
    current_period_end    timestamptz NOT NULL CHECK (current_period_end > current_period_start),
    cancel_at_period_end  boolean NOT NULL DEFAULT false,
    scheduled_plan        text REFERENCES plans(name),
    provider_ref          text NOT NULL,
    started_at            timestamptz NOT NULL,
    ended_at              timestamptz,
    end_cause             text CHECK (end_cause IN ('cancelled', 'suspended')),
    -- a scheduled downgrade and a scheduled cancellation cannot both be set
    CHECK (NOT (cancel_at_period_end AND scheduled_plan IS NOT NULL)),
    CHECK ((status = 'ended') = (ended_at IS NOT NULL))
);
COMMENT ON TABLE subscriptions IS 'Paid subscriptions. Period k runs from anchor + k months to anchor + k+1 months.';
-- a user has at most one paid subscription that is not ended
CREATE UNIQUE INDEX subscriptions_one_live_per_user ON subscriptions (user_id) WHERE status = 'active';
CREATE INDEX subscriptions_due ON subscriptions (current_period_end) WHERE status = 'active';

CREATE TABLE cancellation_feedback (
    id               bigserial PRIMARY KEY,
    subscription_id  bigint NOT NULL REFERENCES subscriptions(id),
    user_id          text NOT NULL REFERENCES users(id),
    reason           text CHECK (reason IN ('too_expensive', 'not_using', 'missing_feature', 'quality', 'other')),
    comment          text CHECK (char_length(comment) <= 2000),
    created_at       timestamptz NOT NULL
);
COMMENT ON TABLE cancellation_feedback IS 'Optional feedback given with a cancellation.';

CREATE TABLE charges (
    id               text PRIMARY KEY,
    user_id          text NOT NULL REFERENCES users(id),
    subscription_id  bigint REFERENCES subscriptions(id),
    kind             text NOT NULL CHECK (kind IN ('subscription', 'credit_pack')),
    -- who recorded it: checkout start, billing-cycle renewal, or the provider's webhook
    origin           text NOT NULL CHECK (origin IN ('checkout', 'renewal', 'provider')),
    description      text NOT NULL,
    amount_cents     bigint NOT NULL CHECK (amount_cents >= 0),
    currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    charged_at       timestamptz NOT NULL,
    period_start     timestamptz,
    period_end       timestamptz,
    credits          bigint CHECK (credits > 0),
    status           text NOT NULL DEFAULT 'paid' CHECK (status IN ('paid', 'partially_refunded', 'refunded')),
    refunded_cents   bigint NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents),
    refunded_at      timestamptz,
    provider_ref     text,
    CHECK ((kind = 'subscription') = (period_start IS NOT NULL AND subscription_id IS NOT NULL)),
    CHECK ((kind = 'credit_pack') = (credits IS NOT NULL)),
    CHECK (status <> 'paid' OR refunded_cents = 0),
    CHECK (status <> 'refunded' OR refunded_cents = amount_cents),
    CHECK (status <> 'partially_refunded' OR (refunded_cents > 0 AND refunded_cents < amount_cents))
);
COMMENT ON TABLE charges IS 'Ledger of every charge: subscription periods and credit packs.';
-- one renewal per subscription period (the billing cycle runs exactly once per period)
CREATE UNIQUE INDEX charges_one_renewal_per_period ON charges (subscription_id, period_start) WHERE origin IN ('checkout', 'renewal');
CREATE INDEX charges_by_user ON charges (user_id, charged_at DESC);

CREATE TABLE provider_events (
    provider_ref     text PRIMARY KEY CHECK (char_length(provider_ref) BETWEEN 1 AND 255),
    endpoint         text NOT NULL,
    request          jsonb NOT NULL,
    response_status  integer NOT NULL,
    response_body    text NOT NULL,
    created_at       timestamptz NOT NULL
);
COMMENT ON TABLE provider_events IS 'Payment-provider webhooks seen, by provider_ref: a retry with the same body replays the first result.';

CREATE TABLE tasks (
    id               text PRIMARY KEY,
    user_id          text NOT NULL REFERENCES users(id),
    kind             text NOT NULL CHECK (kind IN ('image', 'video', 'try_on', 'training')),
    credits          bigint NOT NULL CHECK (credits > 0),
    included_spent   bigint NOT NULL CHECK (included_spent >= 0),
    purchased_spent  bigint NOT NULL CHECK (purchased_spent >= 0),
    included_epoch   bigint NOT NULL,
    status           text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
    failure_cause    text CHECK (failure_cause IN ('platform', 'provider', 'user')),
    credits_returned boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    CHECK (included_spent + purchased_spent = credits),
    CHECK ((status = 'failed') = (failure_cause IS NOT NULL)),
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK (NOT credits_returned OR status = 'failed')
);
COMMENT ON TABLE tasks IS 'AI generation and training tasks and the credits each spent, split by balance.';
CREATE INDEX tasks_by_user ON tasks (user_id, created_at DESC);

CREATE TABLE credit_ledger (
    id               bigserial PRIMARY KEY,
    user_id          text NOT NULL REFERENCES users(id),
    balance          text NOT NULL CHECK (balance IN ('included', 'purchased')),
    delta            bigint NOT NULL,
    -- what moved it: 'grant', 'reset', 'expire', 'spend', 'return', 'pack', 'clawback'
    cause            text NOT NULL,
    ref              text,
    at               timestamptz NOT NULL
);
COMMENT ON TABLE credit_ledger IS 'Every movement of a credit balance; the balances in users equal the sums per epoch here.';
CREATE INDEX credit_ledger_by_user ON credit_ledger (user_id, id);

CREATE TABLE refund_requests (
    id               text PRIMARY KEY,
    user_id          text NOT NULL REFERENCES users(id),
    charge_id        text REFERENCES charges(id),
    task_id          text REFERENCES tasks(id),
    reason           text NOT NULL,
    description      text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 2000),
    email            text CHECK (char_length(email) <= 254),
    status           text NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    submitted_at     timestamptz NOT NULL,
    respond_by       timestamptz NOT NULL,
    decided_at       timestamptz,
    decided_by       text,
    decision_note    text CHECK (char_length(decision_note) <= 2000),
    refunded_cents   bigint CHECK (refunded_cents > 0),
    CHECK ((charge_id IS NULL) <> (task_id IS NULL)),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
COMMENT ON TABLE refund_requests IS 'Refund requests (policy 6) and support decisions.';
-- one open request per charge and per task
CREATE UNIQUE INDEX refund_requests_one_open_per_charge ON refund_requests (charge_id) WHERE status = 'pending' AND charge_id IS NOT NULL;
CREATE UNIQUE INDEX refund_requests_one_open_per_task ON refund_requests (task_id) WHERE status = 'pending' AND task_id IS NOT NULL;
CREATE INDEX refund_requests_by_user ON refund_requests (user_id, submitted_at DESC);
CREATE INDEX refund_requests_by_status ON refund_requests (status, submitted_at);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor_role   text NOT NULL CHECK (actor_role IN ('user', 'support', 'service', 'system')),
    actor_id     text,
    action       text NOT NULL,
    user_id      text,
    before       jsonb,
    after        jsonb
);
COMMENT ON TABLE audit_log IS 'Every state change: who, what, before, after, when. Written in the same transaction as the change.';
CREATE INDEX audit_log_by_user ON audit_log (user_id, id);

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    created_at   timestamptz NOT NULL,
    user_id      text NOT NULL,
    event        text NOT NULL,
    payload      jsonb NOT NULL,
    delivered_at timestamptz
);
COMMENT ON TABLE outbox IS 'Customer notifications for a mailer to deliver; written in the same transaction as the change.';
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL;

CREATE TABLE idempotency_keys (
    actor_role       text NOT NULL,
    actor_id         text NOT NULL,
    key              text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    method           text NOT NULL,
    path             text NOT NULL,
    request          jsonb,
    response_status  integer NOT NULL,
    response_body    text NOT NULL,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (actor_role, actor_id, key)
);
COMMENT ON TABLE idempotency_keys IS 'Outcomes of POSTs sent with an Idempotency-Key, replayed for 24 h.';
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
