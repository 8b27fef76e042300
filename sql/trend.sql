-- Schools and connected schools on every report date from from_date to report_date (both
-- included), oldest first: the progress chart, and the pace towards every school connected
-- (schoolnet.warehouse.analysis.full_coverage_date). Dates without a run have no row.
SELECT
    report_date,
    COUNT(*) AS schools,
    SUM(CASE WHEN status = 'connected' THEN 1 ELSE 0 END) AS connected
FROM snapshot
WHERE report_date >= :from_date AND report_date <= :report_date
GROUP BY report_date
ORDER BY report_date
