-- Counts the product's published changes, so consumers (search) can drop an event that
-- arrives after a newer one.
ALTER TABLE products ADD COLUMN version bigint NOT NULL DEFAULT 0;
