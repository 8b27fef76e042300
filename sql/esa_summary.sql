-- Per ESA on one report date: school counts by status, how its sheet was read, open findings.
SELECT
    e.esa_code,
    e.esa_name,
    e.level,
    e.province,
    COUNT(s.school_code) AS schools,
    COALESCE(SUM(CASE WHEN s.status = 'connected' THEN 1 ELSE 0 END), 0) AS connected,
    COALESCE(SUM(CASE WHEN s.status = 'no_provider' THEN 1 ELSE 0 END), 0) AS no_provider,
    COALESCE(SUM(CASE WHEN s.accepted_on IS NULL THEN 1 ELSE 0 END), 0) AS never_reported,
    p.outcome,
    p.error_code,
    p.reason,
    p.last_good_date,
    COALESCE(p.rows_rejected, 0) AS rows_rejected,
    (
        SELECT COUNT(*) FROM finding f
        WHERE f.report_date = :report_date AND f.esa_code = e.esa_code AND f.severity = 'error'
    ) AS errors,
    (
        SELECT COUNT(*) FROM finding f
        WHERE f.report_date = :report_date AND f.esa_code = e.esa_code AND f.severity = 'warning'
    ) AS warnings
FROM esa e
LEFT JOIN snapshot s ON s.esa_code = e.esa_code AND s.report_date = :report_date
LEFT JOIN pull p ON p.esa_code = e.esa_code AND p.report_date = :report_date
GROUP BY
    e.esa_code, e.esa_name, e.level, e.province,
    p.outcome, p.error_code, p.reason, p.last_good_date, p.rows_rejected
ORDER BY e.esa_code
