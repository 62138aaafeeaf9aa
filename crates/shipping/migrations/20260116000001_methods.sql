-- A store's shipping methods. `kind` decides how the price is found: a flat price, a
-- flat price waived above a subtotal, or a price per weight band. `countries` lists the
-- ISO 3166 destinations served (empty: everywhere).
CREATE TABLE methods (
    id              uuid PRIMARY KEY,
    store_id        uuid NOT NULL,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('flat', 'free_over', 'weight_bands')),
    countries       text[] NOT NULL DEFAULT '{}',
    currency        text NOT NULL,
    price_minor     bigint NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    free_over_minor bigint CHECK (free_over_minor >= 0),
    bands           jsonb NOT NULL DEFAULT '[]',
    position        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX methods_store ON methods (store_id, position, created_at);
