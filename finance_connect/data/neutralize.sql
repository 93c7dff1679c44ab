-- finance_connect on a neutralized copy (odoo-bin neutralize, Odoo.sh staging and
-- duplicates): the copy never calls a counterparty with production's settings.

-- pause every connection: queued messages wait, no delivery job sends anything
UPDATE finance_connect_connection
   SET paused = true;

-- replace webhook URL tokens: a stored value that is no sha256 digest, so that no
-- token (production's included) finds the connection; the administrator of the
-- copy generates a new webhook URL
UPDATE finance_connect_connection
   SET webhook_token_hash = 'neutralized-' || id
 WHERE webhook_token_hash IS NOT NULL;

-- forget the OAuth2 access tokens obtained by production (a resumed connection of
-- the copy asks its token endpoint for a new one)
DELETE FROM finance_connect_secret
 WHERE name = 'oauth_access_token';
UPDATE finance_connect_connection
   SET oauth_token_expiry = NULL;

-- replace the metrics endpoint's bearer tokens the same way
UPDATE finance_connect_metrics_token
   SET token_hash = 'neutralized-' || id;

-- stop the crons of finance_connect (base stops them all; ours explicitly)
UPDATE ir_cron
   SET active = false
 WHERE id IN (
       SELECT res_id
         FROM ir_model_data
        WHERE model = 'ir.cron'
          AND module = 'finance_connect'
);

-- a server already running on this database drops its cached webhook settings and
-- token index at its next request (Odoo's cache signaling, as clear_cache() does)
SELECT nextval('base_cache_signaling_default');
