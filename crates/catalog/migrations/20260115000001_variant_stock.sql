-- Units each tracked variant may sell, from inventory's events. A variant without a
-- row is not tracked (always for sale); a product whose tracked variants are all at
-- zero is sold out.
CREATE TABLE variant_stock (
    variant_id uuid PRIMARY KEY,
    available  bigint NOT NULL,
    version    bigint NOT NULL
);
