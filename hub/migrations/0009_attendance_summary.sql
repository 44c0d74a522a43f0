-- The district daily summary (hub/attendance/reports.py daily_summary, GET
-- /api/v1/attendance/daily, the district and school dashboard pages) reads one day of the
-- rollup: about 15k rows among a school year's 2.5 million. Through the day-only index of
-- 0003 every row cost a heap visit, and a day's rows lie on ~10k scattered pages once
-- updates and vacuum have moved them (the benchmark: 90-350 ms). This index carries what
-- the summary reads, so a past day is an index-only scan of ~100 pages (about 15 ms for the
-- whole district) and today's rows, still being updated, cost only their own heap pages.
-- It serves every day-only predicate the old index served, so that one goes.
create index attendance_daily_day_cover_idx on attendance_daily (day, student_id)
    include (first_in, last_out);
drop index attendance_daily_day_idx;
