-- Memberships follow vendors' store versions; a removal stays as a tombstone (role NULL)
-- so an older "added" event arriving late cannot bring it back.
ALTER TABLE store_memberships ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE store_memberships ALTER COLUMN role DROP NOT NULL;
