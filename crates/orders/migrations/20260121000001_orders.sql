-- The checkout saga, persisted step by step: a crash leaves a row the recovery worker
-- finishes or compensates once its lease runs out.
CREATE TABLE checkouts (
    id              uuid PRIMARY KEY,
    customer        uuid NOT NULL,
    -- The client's Idempotency-Key: one checkout per key and customer.
    idempotency_key text NOT NULL,
    -- started → priced → redeemed → reserved → authorized → confirmed → completed,
    -- or awaiting_action (a confirmation step) or failed (compensated).
    step            text NOT NULL CHECK (step IN ('priced', 'redeemed', 'reserved', 'awaiting_action',
                        'authorized', 'confirmed', 'completed', 'failed')),
    -- What was priced: lines, stores, shipping, tax, discount, totals, address.
    plan            jsonb NOT NULL,
    -- Reservations made so far, per store (`sto_…` → `rsv_…`).
    reservations    jsonb NOT NULL DEFAULT '{}',
    payment_id      text,
    action_url      text,
    order_id        uuid,
    failure_code    text,
    failure_message text,
    -- Who may work on it until when: the request that started it, then the worker.
    lease_until     timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (customer, idempotency_key)
);
CREATE INDEX checkouts_unfinished ON checkouts (lease_until) WHERE step NOT IN ('completed', 'failed');

CREATE SEQUENCE order_numbers START 100001;

CREATE TABLE orders (
    id             uuid PRIMARY KEY,
    number         text NOT NULL UNIQUE,
    checkout_id    uuid NOT NULL UNIQUE REFERENCES checkouts (id),
    customer       uuid NOT NULL,
    email          text NOT NULL,
    status         text NOT NULL CHECK (status IN ('placed', 'paid', 'cancelled', 'partially_refunded', 'refunded')),
    currency       text NOT NULL,
    subtotal_minor bigint NOT NULL,
    discount_minor bigint NOT NULL,
    shipping_minor bigint NOT NULL,
    tax_minor      bigint NOT NULL,
    total_minor    bigint NOT NULL,
    promotion_code text,
    address        jsonb NOT NULL,
    payment_id     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer ON orders (customer, created_at DESC);
CREATE INDEX orders_email ON orders (lower(email));

CREATE TABLE sub_orders (
    id                      uuid PRIMARY KEY,
    order_id                uuid NOT NULL REFERENCES orders (id),
    number                  text NOT NULL UNIQUE,
    store_id                uuid NOT NULL,
    store_name              text NOT NULL,
    status                  text NOT NULL CHECK (status IN ('placed', 'paid', 'processing', 'shipped', 'delivered',
                                'cancelled', 'partially_refunded', 'refunded')),
    subtotal_minor          bigint NOT NULL,
    discount_minor          bigint NOT NULL,
    platform_discount_minor bigint NOT NULL,
    shipping_minor          bigint NOT NULL,
    tax_minor               bigint NOT NULL,
    total_minor             bigint NOT NULL,
    commission_bps          integer NOT NULL,
    commission_minor        bigint NOT NULL,
    refunded_minor          bigint NOT NULL DEFAULT 0 CHECK (refunded_minor BETWEEN 0 AND total_minor),
    shipping_method         text NOT NULL,
    -- Absent when the store tracks none of its items' stock.
    reservation_id          text,
    tracking_number         text,
    cancel_reason           text,
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sub_orders_store ON sub_orders (store_id, created_at DESC);
CREATE INDEX sub_orders_order ON sub_orders (order_id);

CREATE TABLE order_lines (
    id             uuid PRIMARY KEY,
    sub_order_id   uuid NOT NULL REFERENCES sub_orders (id),
    variant_id     uuid NOT NULL,
    product_id     uuid NOT NULL,
    title          text NOT NULL,
    sku            text NOT NULL,
    options        jsonb NOT NULL,
    quantity       integer NOT NULL CHECK (quantity > 0),
    unit_price_minor bigint NOT NULL,
    discount_minor bigint NOT NULL,
    tax_minor      bigint NOT NULL,
    total_minor    bigint NOT NULL
);
CREATE INDEX order_lines_sub_order ON order_lines (sub_order_id);

-- What happened to an order, for its timeline (append-only).
CREATE TABLE order_events (
    id           bigserial PRIMARY KEY,
    order_id     uuid NOT NULL REFERENCES orders (id),
    sub_order_id uuid REFERENCES sub_orders (id),
    status       text NOT NULL,
    note         text,
    actor        uuid,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order ON order_events (order_id, id);
