-- Schools and connected schools on every report date from from_date to report_date (both
-- included), oldest first: the progress chart, and the pace towards every school connected
-- (schoolnet.warehouse.analysis.full_coverage_date). Dates without a run have no row.
-- Read from daily_count, which the merge writes with each day's snapshot: a year is 365 rows.
SELECT
    report_date,
    schools,
    connected
FROM daily_count
WHERE report_date >= :from_date AND report_date <= :report_date
ORDER BY report_date
