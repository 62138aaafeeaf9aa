-- Every email we send, whichever transport carried it. With no SMTP server configured
-- this table is the dev mailbox.
CREATE TABLE emails (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL,
    kind        text NOT NULL,
    to_address  text NOT NULL,
    subject     text NOT NULL,
    body_text   text NOT NULL,
    body_html   text NOT NULL,
    transport   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- One email per event and kind, even if the inbox were bypassed.
    UNIQUE (event_id, kind)
);
CREATE INDEX emails_to ON emails (to_address, created_at DESC);
