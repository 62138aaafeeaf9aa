-- Units each tracked variant may sell, from inventory's events: a product whose
-- tracked variants are all sold out is out of stock (filtered and counted at query
-- time, so no reindex is needed when stock moves).
CREATE TABLE variant_stock (
    variant_id uuid PRIMARY KEY,
    product_id uuid NOT NULL,
    available  bigint NOT NULL,
    version    bigint NOT NULL
);
CREATE INDEX variant_stock_product ON variant_stock (product_id);
