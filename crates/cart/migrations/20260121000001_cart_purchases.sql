-- Checkouts whose bought items were taken out of the customer's cart: once each.
CREATE TABLE cart_purchases (
    reference  text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
