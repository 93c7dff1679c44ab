-- finance_connect_bank on a neutralized copy: no statement is pulled from a bank

-- stop the scheduled pulls of every connection (resuming a connection on the copy
-- does not start pulling from the production bank again)
UPDATE finance_connect_connection
   SET fc_pull_enabled = false;

-- stop the crons of finance_connect_bank
UPDATE ir_cron
   SET active = false
 WHERE id IN (
       SELECT res_id
         FROM ir_model_data
        WHERE model = 'ir.cron'
          AND module = 'finance_connect_bank'
);
