-- One cart, one checkout: a customer has at most one checkout under way. A checkout
-- claims this slot (step `started`, no plan yet) before it reads the cart, and gives it
-- up only once it completed (the bought items already out of the cart) or failed (the
-- cart untouched), so two checkouts can never buy the same cart content, whatever
-- their keys. A second one is refused by this index (`checkout_in_progress`).
ALTER TABLE checkouts ALTER COLUMN plan DROP NOT NULL;
ALTER TABLE checkouts DROP CONSTRAINT checkouts_step_check;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_step_check CHECK (step IN ('started', 'priced', 'redeemed',
    'reserved', 'awaiting_action', 'authorized', 'confirmed', 'completed', 'failed'));
-- Only a checkout that is still pricing (or gave up while pricing) has no plan.
ALTER TABLE checkouts ADD CONSTRAINT checkouts_plan_made CHECK (plan IS NOT NULL OR step IN ('started', 'failed'));
CREATE UNIQUE INDEX checkouts_one_in_flight ON checkouts (customer) WHERE step NOT IN ('completed', 'failed');
