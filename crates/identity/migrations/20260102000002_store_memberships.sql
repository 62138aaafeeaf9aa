-- Projection of vendors' memberships, so access tokens can say which stores a user
-- works for. Fed by vendors.member.added / vendors.member.removed.
CREATE TABLE store_memberships (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    store_id text NOT NULL,
    role     text NOT NULL CHECK (role IN ('owner', 'staff')),
    PRIMARY KEY (user_id, store_id)
);
