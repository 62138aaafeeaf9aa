-- The store projection applies vendors' events only if they are newer than what it has.
ALTER TABLE stores ADD COLUMN version bigint NOT NULL DEFAULT 0;
