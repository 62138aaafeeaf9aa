-- Platform-wide vendor settings, one row per key.
CREATE TABLE settings (
    key   text PRIMARY KEY,
    value jsonb NOT NULL
);
INSERT INTO settings (key, value) VALUES ('default_commission_bps', '1000');

CREATE TABLE stores (
    id                uuid PRIMARY KEY,
    slug              text NOT NULL,
    name              text NOT NULL,
    description       text NOT NULL DEFAULT '',
    logo_url          text,
    support_email     text NOT NULL,
    country           text NOT NULL,
    payout_holder     text NOT NULL,
    payout_iban       text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'suspended')),
    status_reason     text,
    -- Basis points (1/100 of a percent); NULL means the platform default.
    commission_bps    integer CHECK (commission_bps BETWEEN 0 AND 10000),
    applicant_user_id uuid NOT NULL,
    applicant_email   text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX stores_slug_key ON stores (slug);
-- One application under review per user at a time.
CREATE UNIQUE INDEX stores_one_pending_per_applicant ON stores (applicant_user_id) WHERE status = 'pending';
CREATE INDEX stores_status ON stores (status, created_at DESC, id DESC);

CREATE TABLE members (
    store_id   uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    email      text NOT NULL,
    role       text NOT NULL CHECK (role IN ('owner', 'staff')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE invitations (
    id          uuid PRIMARY KEY,
    store_id    uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'staff')),
    token_hash  bytea NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
