-- Carts are durable: a guest's (found by the digest of its cookie token) or a
-- customer's (one per account). Lines remember the price the customer last saw, so a
-- change can be pointed out.
CREATE TABLE carts (
    id           uuid PRIMARY KEY,
    user_id      uuid UNIQUE,
    token_digest bytea UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (user_id IS NOT NULL OR token_digest IS NOT NULL)
);

CREATE TABLE cart_lines (
    cart_id          uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    variant_id       uuid NOT NULL,
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    price_seen_minor bigint NOT NULL,
    currency         text NOT NULL,
    added_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cart_id, variant_id)
);
