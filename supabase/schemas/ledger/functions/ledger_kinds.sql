-- ledger_kinds()
--
-- ---------------------------------------------------------------------------------------------
-- ledger_kinds: every ledger entry kind, the usage bucket it is counted in and the words a
-- statement describes it with. THE one place a kind is mapped to a bucket (CONTRACT §12):
-- wallet_usage sums each day's entries by this bucket, and wallet_statement describes each row
-- with this description; test/usage/ledger-kinds.test.ts fails when the ledger allows a kind
-- (ledger_entries_kind_sign) that is not listed here.
-- Output:  {<kind>: {usage_bucket, description}} for every kind; usage_bucket one of
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
-- Readers join it as `jsonb_each(ledger_kinds()) k(kind, info)`. A jsonb object rather than a set
-- of rows: a set-returning function is not an RPC the Data API serves (tools and the PostgREST
-- stand-in of test/access/rest-api-roles only know scalar results), and this one needs none.
--
-- Defined in 20261206210100_usage_statements_receipts as a set of rows; an object since
-- 20261206211105_ledger_kinds_object.
--
-- Called by: wallet_usage(), wallet_statement().
CREATE OR REPLACE FUNCTION public.ledger_kinds()
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object(
    'call',                jsonb_build_object('usage_bucket', 'calls',   'description', 'Call'),
    'phone_number',        jsonb_build_object('usage_bucket', 'numbers', 'description', 'Phone number purchase'),
    'phone_number_rent',   jsonb_build_object('usage_bucket', 'numbers', 'description', 'Phone number monthly rent'),
    'phone_number_refund', jsonb_build_object('usage_bucket', 'refunds', 'description', 'Phone number purchase refunded'),
    'topup',               jsonb_build_object('usage_bucket', 'top_ups', 'description', 'Top-up'),
    'topup_refund',        jsonb_build_object('usage_bucket', 'top_ups', 'description', 'Top-up refunded to the card'),
    'dispute',             jsonb_build_object('usage_bucket', 'top_ups', 'description', 'Card payment disputed'),
    'dispute_reversal',    jsonb_build_object('usage_bucket', 'top_ups', 'description', 'Dispute decided for you: money returned'))
$function$;
