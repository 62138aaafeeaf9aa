-- An order's status also says how far its parts have gone: partly shipped, shipped,
-- delivered (issue 13; before, an order whose parts had all shipped still said paid).
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('placed', 'paid',
    'partially_shipped', 'shipped', 'delivered', 'cancelled', 'partially_refunded', 'refunded'));
