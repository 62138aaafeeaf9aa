-- Each product's customer rating as reviews last published it (version-guarded like
-- stock), loaded into the index's overlay on start.
CREATE TABLE product_ratings (
    product_id     uuid PRIMARY KEY,
    version        bigint NOT NULL,
    rating_count   bigint NOT NULL,
    average_tenths integer NOT NULL
);
