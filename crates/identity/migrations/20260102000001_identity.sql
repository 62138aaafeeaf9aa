CREATE TABLE users (
    id                uuid PRIMARY KEY,
    email             text NOT NULL,
    name              text NOT NULL,
    phone             text,
    password_hash     text NOT NULL,
    email_verified_at timestamptz,
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    is_admin          boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- Emails are stored lower-cased; the constraint name is mapped to `email_taken`.
CREATE UNIQUE INDEX users_email_key ON users (email);
-- Admin search by prefix.
CREATE INDEX users_name_lower ON users (lower(name) text_pattern_ops);

-- Secrets this service generates once and shares across its replicas.
CREATE TABLE secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE email_verifications (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code_hash    bytea NOT NULL,
    expires_at   timestamptz NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    last_sent_at timestamptz NOT NULL
);

CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- A session is one refresh-token family: a login and all its rotations.
CREATE TABLE sessions (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Failed-attempt counters for throttling, shared by every replica.
CREATE TABLE throttle (
    key          text PRIMARY KEY,
    hits         integer NOT NULL,
    window_start timestamptz NOT NULL
);

CREATE TABLE addresses (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label               text,
    full_name           text NOT NULL,
    line1               text NOT NULL,
    line2               text,
    city                text NOT NULL,
    region              text,
    postal_code         text NOT NULL,
    country             text NOT NULL,
    phone               text,
    is_default_shipping boolean NOT NULL DEFAULT false,
    is_default_billing  boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user ON addresses (user_id, created_at);
CREATE UNIQUE INDEX addresses_one_default_shipping ON addresses (user_id) WHERE is_default_shipping;
CREATE UNIQUE INDEX addresses_one_default_billing ON addresses (user_id) WHERE is_default_billing;
