-- What every service must refuse before the access tokens concerned expire: a session's
-- tokens (signed out, suspended, password reset) or a user's tokens issued before a
-- moment (a store membership ended). Services poll it by `seq`.
CREATE TABLE revocations (
    seq        bigserial PRIMARY KEY,
    user_id    uuid NOT NULL,
    session_id uuid,
    not_before timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revocations_created ON revocations (created_at);
CREATE INDEX revocations_user ON revocations (user_id, created_at) WHERE session_id IS NULL;
