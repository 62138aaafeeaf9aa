-- The search replica whose state this database holds (its inbox, the versions it has
-- applied): each replica needs a database of its own.
CREATE TABLE replica (
    only_one boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    name     text NOT NULL
);
