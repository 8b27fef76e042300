-- National counts of schools by connection status on one report date.
-- carried_forward: schools shown with values accepted on an earlier date.
SELECT
    COUNT(*) AS schools,
    COALESCE(SUM(CASE WHEN status = 'connected' THEN 1 ELSE 0 END), 0) AS connected,
    COALESCE(SUM(CASE WHEN status = 'procuring' THEN 1 ELSE 0 END), 0) AS procuring,
    COALESCE(SUM(CASE WHEN status = 'not_connected' THEN 1 ELSE 0 END), 0) AS not_connected,
    COALESCE(SUM(CASE WHEN status = 'no_provider' THEN 1 ELSE 0 END), 0) AS no_provider,
    COALESCE(SUM(CASE WHEN accepted_on IS NULL THEN 1 ELSE 0 END), 0) AS never_reported,
    COALESCE(SUM(CASE WHEN accepted_on < :report_date THEN 1 ELSE 0 END), 0) AS carried_forward
FROM snapshot
WHERE report_date = :report_date
