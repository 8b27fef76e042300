-- Per ESA level (primary สพป. / secondary สพม.) on one report date: schools by connection status.
-- The level is that of the school's ESA on that date (snapshot.esa_code), read from the ESA
-- registry as of the latest run; a school whose ESA is no longer registered counts under a NULL
-- level, last, so the levels always add up to national_summary.
-- never_reported: schools with no accepted row yet (their status is blank).
SELECT
    e.level,
    COUNT(*) AS schools,
    SUM(CASE WHEN s.status = 'connected' THEN 1 ELSE 0 END) AS connected,
    SUM(CASE WHEN s.status = 'procuring' THEN 1 ELSE 0 END) AS procuring,
    SUM(CASE WHEN s.status = 'not_connected' THEN 1 ELSE 0 END) AS not_connected,
    SUM(CASE WHEN s.status = 'no_provider' THEN 1 ELSE 0 END) AS no_provider,
    SUM(CASE WHEN s.accepted_on IS NULL THEN 1 ELSE 0 END) AS never_reported
FROM snapshot s
LEFT JOIN esa e ON e.esa_code = s.esa_code
WHERE s.report_date = :report_date
GROUP BY e.level
ORDER BY CASE WHEN e.level IS NULL THEN 1 ELSE 0 END, e.level
