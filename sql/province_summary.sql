-- Per province on one report date: schools by connection status.
-- The province is the school's own (a secondary ESA can span provinces), read from the school
-- registry as of the latest run. A school no longer in the registry counts under a NULL
-- province, last, so the provinces always add up to national_summary.
-- never_reported: schools with no accepted row yet (their status is blank).
SELECT
    sc.province,
    COUNT(*) AS schools,
    SUM(CASE WHEN s.status = 'connected' THEN 1 ELSE 0 END) AS connected,
    SUM(CASE WHEN s.status = 'procuring' THEN 1 ELSE 0 END) AS procuring,
    SUM(CASE WHEN s.status = 'not_connected' THEN 1 ELSE 0 END) AS not_connected,
    SUM(CASE WHEN s.status = 'no_provider' THEN 1 ELSE 0 END) AS no_provider,
    SUM(CASE WHEN s.accepted_on IS NULL THEN 1 ELSE 0 END) AS never_reported
FROM snapshot s
LEFT JOIN school sc ON sc.school_code = s.school_code
WHERE s.report_date = :report_date
GROUP BY sc.province
ORDER BY CASE WHEN sc.province IS NULL THEN 1 ELSE 0 END, sc.province
