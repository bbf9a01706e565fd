-- Billing reads the report inside call_settle (20261130000600); nothing calls call_report_get any
-- more, and a function nobody calls is still a door into call_reports.
drop function call_report_get(text);
