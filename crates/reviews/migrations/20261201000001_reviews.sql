-- Reviews of products customers received (one per customer and product), with the
-- sub-order that made them eligible.
CREATE TABLE reviews (
    id             uuid PRIMARY KEY,
    product_id     uuid NOT NULL,
    store_id       uuid NOT NULL,
    customer       uuid NOT NULL,
    sub_order_id   uuid NOT NULL,
    author_name    text NOT NULL,
    rating         integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title          text NOT NULL,
    body           text NOT NULL,
    photos         text[] NOT NULL DEFAULT '{}' CHECK (cardinality(photos) <= 5),
    status         text NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'hidden')),
    hidden_reason  text,
    helpful_count  integer NOT NULL DEFAULT 0 CHECK (helpful_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    edited_at      timestamptz,
    UNIQUE (customer, product_id)
);
CREATE INDEX reviews_product ON reviews (product_id, helpful_count DESC, created_at DESC, id DESC)
    WHERE status = 'visible';
CREATE INDEX reviews_store ON reviews (store_id, created_at DESC, id DESC);

-- A store's one public answer to a review.
CREATE TABLE review_replies (
    review_id  uuid PRIMARY KEY REFERENCES reviews (id),
    author     uuid NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- "Helpful" votes, one per person and review.
CREATE TABLE review_votes (
    review_id  uuid NOT NULL REFERENCES reviews (id),
    voter      uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (review_id, voter)
);

-- Reports, one per person and review, open until an admin decides the review.
CREATE TABLE review_reports (
    review_id   uuid NOT NULL REFERENCES reviews (id),
    reporter    uuid NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('spam', 'offensive', 'off_topic', 'fake', 'personal_data', 'other')),
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    PRIMARY KEY (review_id, reporter)
);
CREATE INDEX review_reports_open ON review_reports (review_id) WHERE resolved_at IS NULL;

-- Each product's visible ratings by stars, kept in the transaction that changes them;
-- `version` orders the events that publish them.
CREATE TABLE product_ratings (
    product_id uuid PRIMARY KEY,
    store_id   uuid NOT NULL,
    stars      bigint[] NOT NULL DEFAULT '{0,0,0,0,0}' CHECK (cardinality(stars) = 5),
    version    bigint NOT NULL DEFAULT 0
);

-- Customers' ratings of a store, one per purchase (a delivered sub-order).
CREATE TABLE store_ratings (
    sub_order_id uuid PRIMARY KEY,
    store_id     uuid NOT NULL,
    customer     uuid NOT NULL,
    rating       integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    edited_at    timestamptz
);
CREATE INDEX store_ratings_store ON store_ratings (store_id);

CREATE TABLE store_rating_totals (
    store_id uuid PRIMARY KEY,
    stars    bigint[] NOT NULL DEFAULT '{0,0,0,0,0}' CHECK (cardinality(stars) = 5),
    version  bigint NOT NULL DEFAULT 0
);
