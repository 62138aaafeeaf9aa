-- Every event about a store (and its members) carries the store's version, so consumers
-- can ignore an event older than what they already applied (redeliveries, replays).
ALTER TABLE stores ADD COLUMN version bigint NOT NULL DEFAULT 0;
