-- ledger_kinds()
--
-- ---------------------------------------------------------------------------------------------
-- ledger_kinds: every ledger entry kind, the usage bucket it is counted in and the words a
-- statement describes it with. THE one place a kind is mapped to a bucket (CONTRACT §12):
-- wallet_usage sums each day's entries by this bucket, and wallet_statement describes each row
-- with this description; test/usage/ledger-kinds.test.ts fails when the ledger allows a kind
-- (ledger_entries_kind_sign) that is not listed here.
-- Output:  rows (kind, usage_bucket, description); usage_bucket one of
--          calls     — call charges;
--          numbers   — what phone numbers cost: the purchase (phone_number) and the monthly rent
--                      (phone_number_rent, CONTRACT §11, listed before the ledger allows it);
--          refunds   — money given back to the wallet for something it paid for (a purchase
--                      refunded, phone_number_refund);
--          top_ups   — money in through Stripe or an operator (topup), less what Stripe took back
--                      from it (topup_refund, dispute) and gave back again (dispute_reversal).
--          Every kind is in exactly one bucket, so a day's four buckets add up to that day's net
--          movement of the wallet.
-- Effects: none (immutable).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: wallet_usage(), wallet_statement().
CREATE OR REPLACE FUNCTION public.ledger_kinds()
 RETURNS TABLE(kind text, usage_bucket text, description text)
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
  values
    ('call',                'calls',   'Call'),
    ('phone_number',        'numbers', 'Phone number purchase'),
    ('phone_number_rent',   'numbers', 'Phone number monthly rent'),
    ('phone_number_refund', 'refunds', 'Phone number purchase refunded'),
    ('topup',               'top_ups', 'Top-up'),
    ('topup_refund',        'top_ups', 'Top-up refunded to the card'),
    ('dispute',             'top_ups', 'Card payment disputed'),
    ('dispute_reversal',    'top_ups', 'Dispute decided for you: money returned')
$function$;
