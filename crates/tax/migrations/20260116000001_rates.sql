-- Tax rates by country, optionally by region within it (a region's rate wins over the
-- country's). Rates are kept exactly, as parts per million of the price (20 % = 200000).
CREATE TABLE rates (
    country  text NOT NULL,
    region   text NOT NULL DEFAULT '',
    rate_ppm bigint NOT NULL CHECK (rate_ppm BETWEEN 0 AND 1000000),
    PRIMARY KEY (country, region)
);

-- Platform settings of the tax domain.
CREATE TABLE settings (
    id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
    prices_include_tax boolean NOT NULL DEFAULT false
);
INSERT INTO settings (id) VALUES (true);
