-- Stores as catalog knows them, projected from vendors' events: only approved stores'
-- products are public, and a suspended store cannot publish.
CREATE TABLE stores (
    id         uuid PRIMARY KEY,
    slug       text NOT NULL,
    name       text NOT NULL,
    status     text NOT NULL CHECK (status IN ('approved', 'suspended')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id                uuid PRIMARY KEY,
    store_id          uuid NOT NULL REFERENCES stores (id),
    slug              text NOT NULL,
    title             text NOT NULL,
    description_md    text NOT NULL DEFAULT '',
    description_html  text NOT NULL DEFAULT '',
    brand             text,
    category_id       uuid REFERENCES categories (id),
    attributes        jsonb NOT NULL DEFAULT '{}',
    tags              text[] NOT NULL DEFAULT '{}',
    status            text NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    moderation_reason text,
    seo_title         text,
    seo_description   text,
    -- Denormalised from the variants for listing filters and sorting.
    currency          text NOT NULL,
    min_price_minor   bigint NOT NULL CHECK (min_price_minor >= 0),
    published_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX products_store_slug_key ON products (store_id, slug);
CREATE INDEX products_listing ON products (status, published_at DESC, id DESC);
CREATE INDEX products_price ON products (status, min_price_minor, id);
CREATE INDEX products_category ON products (category_id);
CREATE INDEX products_attributes ON products USING gin (attributes jsonb_path_ops);

CREATE TABLE variants (
    id               uuid PRIMARY KEY,
    product_id       uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    store_id         uuid NOT NULL,
    sku              text NOT NULL,
    options          jsonb NOT NULL DEFAULT '{}',
    price_minor      bigint NOT NULL CHECK (price_minor >= 0),
    currency         text NOT NULL,
    compare_at_minor bigint CHECK (compare_at_minor >= 0),
    weight_grams     integer CHECK (weight_grams >= 0),
    barcode          text,
    position         integer NOT NULL
);
CREATE UNIQUE INDEX variants_store_sku_key ON variants (store_id, sku);
CREATE INDEX variants_product ON variants (product_id, position);
