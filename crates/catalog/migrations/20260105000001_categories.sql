-- The admin-managed category tree. `path` lists the ids from the root down to the
-- category itself, so a subtree is `WHERE path @> ARRAY[id]` and a breadcrumb is the path.
CREATE TABLE categories (
    id         uuid PRIMARY KEY,
    parent_id  uuid REFERENCES categories (id),
    name       text NOT NULL,
    slug       text NOT NULL,
    position   integer NOT NULL DEFAULT 0,
    path       uuid[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX categories_slug_key ON categories (slug);
CREATE INDEX categories_parent ON categories (parent_id, position, name);
CREATE INDEX categories_path ON categories USING gin (path);
