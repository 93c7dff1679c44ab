-- finance_connect_reporting on a neutralized copy: no feed goes out, no consumer
-- reads the copy with production's pull URL

-- replace the feeds' pull tokens: a stored value that is no sha256 digest, so that
-- no token finds the feed; a manager of the copy generates a new pull URL
UPDATE finance_connect_feed
   SET pull_token_hash = 'neutralized-' || id
 WHERE pull_token_hash IS NOT NULL;

-- stop the crons of finance_connect_reporting (scheduled feed deliveries)
UPDATE ir_cron
   SET active = false
 WHERE id IN (
       SELECT res_id
         FROM ir_model_data
        WHERE model = 'ir.cron'
          AND module = 'finance_connect_reporting'
);
