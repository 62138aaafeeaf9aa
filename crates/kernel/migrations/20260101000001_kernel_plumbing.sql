-- Kernel plumbing, created inside every domain schema (the pool's search_path).

-- Transactional outbox: written in the same transaction as the state change it reports.
CREATE TABLE outbox (
    id              uuid PRIMARY KEY,
    event_type      text NOT NULL,
    schema_version  integer NOT NULL,
    aggregate_id    text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    trace_context   text,
    payload         jsonb NOT NULL,
    published_at    timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text
);
CREATE INDEX outbox_unpublished ON outbox (occurred_at) WHERE published_at IS NULL;

-- Idempotent consumers: one row per (event, handler), written with the handler's effects.
CREATE TABLE inbox (
    event_id      uuid NOT NULL,
    consumer      text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, consumer)
);

-- Events whose handler kept failing (in-process transport; RabbitMQ uses its DLQ).
CREATE TABLE dead_letters (
    event_id      uuid NOT NULL,
    consumer      text NOT NULL,
    envelope      jsonb NOT NULL,
    error         text NOT NULL,
    failed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, consumer)
);

-- Idempotency-Key: the first response to a POST, replayed for retries.
CREATE TABLE idempotency_keys (
    principal       text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL,
    status_code     smallint,
    response_headers jsonb,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, idempotency_key)
);
