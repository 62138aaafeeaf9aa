-- Codes customers type at checkout. Platform codes (store_id NULL) are funded by the
-- platform and apply to every store; store codes are funded by their store and apply
-- to its products only.
CREATE TABLE promotions (
    id                 uuid PRIMARY KEY,
    code               text NOT NULL UNIQUE,
    store_id           uuid,
    kind               text NOT NULL CHECK (kind IN ('percentage', 'fixed', 'free_shipping')),
    percent_bps        integer CHECK (percent_bps BETWEEN 1 AND 10000),
    amount_minor       bigint CHECK (amount_minor > 0),
    currency           text,
    min_subtotal_minor bigint NOT NULL DEFAULT 0,
    starts_at          timestamptz,
    ends_at            timestamptz,
    category_ids       uuid[] NOT NULL DEFAULT '{}',
    product_ids        uuid[] NOT NULL DEFAULT '{}',
    usage_limit        integer CHECK (usage_limit > 0),
    per_customer_limit integer CHECK (per_customer_limit > 0),
    first_order_only   boolean NOT NULL DEFAULT false,
    uses               integer NOT NULL DEFAULT 0 CHECK (uses >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- The limit holds whatever the code above does.
    CHECK (usage_limit IS NULL OR uses <= usage_limit)
);

-- One per checkout (its reference), so a retried checkout redeems once.
CREATE TABLE redemptions (
    id             uuid PRIMARY KEY,
    promotion_id   uuid NOT NULL REFERENCES promotions (id),
    customer       uuid NOT NULL,
    reference      text NOT NULL UNIQUE,
    discount_minor bigint NOT NULL,
    status         text NOT NULL CHECK (status IN ('redeemed', 'released')),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX redemptions_customer ON redemptions (promotion_id, customer) WHERE status = 'redeemed';
