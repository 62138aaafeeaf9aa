-- Where a store keeps stock.
CREATE TABLE locations (
    id         uuid PRIMARY KEY,
    store_id   uuid NOT NULL,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX locations_store_name_key ON locations (store_id, lower(name));

-- Stock of one variant at one location. `reserved` is held by checkouts in progress;
-- what may be sold is on_hand - reserved, never below zero (the checks make an
-- oversell impossible whatever the code above does).
CREATE TABLE stock_levels (
    variant_id  uuid NOT NULL,
    location_id uuid NOT NULL REFERENCES locations (id),
    product_id  uuid NOT NULL,
    store_id    uuid NOT NULL,
    on_hand     integer NOT NULL CHECK (on_hand >= 0),
    reserved    integer NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    PRIMARY KEY (variant_id, location_id)
);
CREATE INDEX stock_levels_product ON stock_levels (product_id);

-- Per-variant settings and the ordering counter for its events.
CREATE TABLE variants (
    variant_id          uuid PRIMARY KEY,
    product_id          uuid NOT NULL,
    store_id            uuid NOT NULL,
    low_stock_threshold integer CHECK (low_stock_threshold >= 0),
    version             bigint NOT NULL DEFAULT 0
);

-- Append-only: every change of on_hand, with why and on whose behalf.
CREATE TABLE movements (
    id          bigserial PRIMARY KEY,
    variant_id  uuid NOT NULL,
    location_id uuid NOT NULL,
    delta       integer NOT NULL,
    reason      text NOT NULL,
    reference   text,
    actor       uuid,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movements_variant ON movements (variant_id, id DESC);
CREATE RULE movements_no_update AS ON UPDATE TO movements DO INSTEAD NOTHING;
CREATE RULE movements_no_delete AS ON DELETE TO movements DO INSTEAD NOTHING;

-- Stock held for a checkout until it is committed (paid), released, or expires.
CREATE TABLE reservations (
    id         uuid PRIMARY KEY,
    reference  text NOT NULL UNIQUE,
    owner      uuid NOT NULL,
    status     text NOT NULL CHECK (status IN ('held', 'committed', 'released', 'expired', 'returned')),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservations_expiry ON reservations (expires_at) WHERE status = 'held';

CREATE TABLE reservation_lines (
    reservation_id uuid NOT NULL REFERENCES reservations (id),
    variant_id     uuid NOT NULL,
    location_id    uuid NOT NULL,
    quantity       integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, variant_id, location_id)
);
