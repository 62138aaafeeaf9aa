-- Ordered images of a product, optionally tied to one variant (its colour, say).
CREATE TABLE product_images (
    product_id  uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    media_key   text NOT NULL,
    alt         text NOT NULL DEFAULT '',
    variant_sku text,
    PRIMARY KEY (product_id, position)
);
