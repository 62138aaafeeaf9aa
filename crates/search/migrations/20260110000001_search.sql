-- The index itself lives in tantivy files; PostgreSQL keeps what must survive them being
-- rebuilt: the newest version seen of each product (so a late event cannot bring back an
-- older document, or a withdrawn one) and which stores are suspended.
CREATE TABLE product_versions (
    product_id uuid PRIMARY KEY,
    version    bigint NOT NULL
);

CREATE TABLE stores (
    store_id  uuid PRIMARY KEY,
    version   bigint NOT NULL,
    suspended boolean NOT NULL
);
