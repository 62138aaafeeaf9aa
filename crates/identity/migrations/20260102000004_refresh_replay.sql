-- A refresh token presented again within the grace period is answered with the very
-- pair its first use got. The successor refresh token is recomputed from the presented
-- one (keyed MAC), and the access token is signed again from the claims kept here:
-- claims are not a credential (the signature is), so nothing secret is stored in clear.
ALTER TABLE refresh_tokens ADD COLUMN access_claims jsonb;
