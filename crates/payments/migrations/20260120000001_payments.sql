-- One payment per checkout (its reference): authorized at checkout, captured when the
-- order is confirmed, voided when the checkout fails, refunded in part or in full.
CREATE TABLE payments (
    id              uuid PRIMARY KEY,
    reference       text NOT NULL UNIQUE,
    customer        uuid NOT NULL,
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    currency        text NOT NULL,
    provider        text NOT NULL,
    -- The provider's id of the authorization.
    provider_ref    text,
    status          text NOT NULL CHECK (status IN ('pending', 'requires_action', 'authorized',
                        'declined', 'voided', 'captured', 'partially_refunded', 'refunded')),
    card_last4      text,
    action_url      text,
    failure_code    text,
    failure_message text,
    captured_minor  bigint NOT NULL DEFAULT 0,
    refunded_minor  bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (captured_minor BETWEEN 0 AND amount_minor),
    CHECK (refunded_minor BETWEEN 0 AND captured_minor)
);

-- How a capture was split between stores: what refunds reverse in proportion.
CREATE TABLE capture_splits (
    payment_id              uuid NOT NULL REFERENCES payments (id),
    store_id                uuid NOT NULL,
    -- What the customer paid for this store's part.
    gross_minor             bigint NOT NULL CHECK (gross_minor >= 0),
    -- Discounts the platform pays the store for.
    platform_discount_minor bigint NOT NULL CHECK (platform_discount_minor >= 0),
    commission_minor        bigint NOT NULL CHECK (commission_minor >= 0),
    refunded_minor          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (payment_id, store_id),
    CHECK (refunded_minor BETWEEN 0 AND gross_minor)
);

CREATE TABLE refunds (
    id           uuid PRIMARY KEY,
    payment_id   uuid NOT NULL REFERENCES payments (id),
    store_id     uuid NOT NULL,
    -- The caller's key: the same reference refunds once.
    reference    text NOT NULL UNIQUE,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    provider_ref text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The simulator's own books, as a gateway keeps them: they outlive our processes.
CREATE TABLE simulator_intents (
    id              uuid PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    amount_minor    bigint NOT NULL,
    currency        text NOT NULL,
    card_last4      text NOT NULL,
    status          text NOT NULL CHECK (status IN ('requires_action', 'authorized', 'declined',
                        'canceled', 'captured')),
    decline_code    text,
    return_url      text,
    captured_minor  bigint NOT NULL DEFAULT 0,
    refunded_minor  bigint NOT NULL DEFAULT 0,
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE simulator_refunds (
    key          text PRIMARY KEY,
    intent_id    uuid NOT NULL REFERENCES simulator_intents (id),
    amount_minor bigint NOT NULL
);

-- Webhook events already applied: a redelivery changes nothing.
CREATE TABLE webhook_events (
    provider    text NOT NULL,
    event_id    text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- The double-entry ledger. Amounts are signed: debits positive, credits negative.
CREATE TABLE ledger_accounts (
    code     text PRIMARY KEY,
    kind     text NOT NULL CHECK (kind IN ('asset', 'liability', 'revenue', 'expense')),
    store_id uuid UNIQUE
);
INSERT INTO ledger_accounts (code, kind) VALUES
    ('payments_clearing', 'asset'),
    ('refunds', 'asset'),
    ('payouts', 'asset'),
    ('commission_revenue', 'revenue'),
    ('platform_promotions', 'expense');

CREATE TABLE ledger_transactions (
    id         uuid PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('capture', 'refund', 'payout')),
    -- What caused it; one transaction per cause.
    reference  text NOT NULL,
    currency   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, reference)
);

CREATE TABLE ledger_entries (
    id             bigserial PRIMARY KEY,
    transaction_id uuid NOT NULL REFERENCES ledger_transactions (id),
    account        text NOT NULL REFERENCES ledger_accounts (code),
    amount_minor   bigint NOT NULL CHECK (amount_minor <> 0)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- Every transaction balances: checked at commit, so its entries may arrive one by one.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT sum(amount_minor) FROM ledger_entries WHERE transaction_id = NEW.transaction_id) <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance', NEW.transaction_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- The ledger is append-only: a mistake is corrected by a new transaction.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TABLE payout_runs (
    id           uuid PRIMARY KEY,
    started_by   uuid NOT NULL,
    payout_count integer NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payouts (
    id           uuid PRIMARY KEY,
    run_id       uuid NOT NULL REFERENCES payout_runs (id),
    store_id     uuid NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    currency     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payouts_store ON payouts (store_id, created_at DESC);
