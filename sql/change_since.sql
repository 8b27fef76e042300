-- Schools per status on report_date and on a baseline snapshot, and the change between them:
-- "since yesterday" (since_date = the day before report_date) and "since MOENet closed"
-- (since_date = 2018-01-01).
-- The baseline (since_snapshot_date) is the snapshot in force on since_date: the latest snapshot
-- on or before since_date; if there is none (since_date falls before the first report, as
-- 1 January 2018 does), the earliest snapshot after since_date, up to report_date. So after a
-- missed run "since yesterday" compares with the last run before it. Every status has a row,
-- in a fixed order; never_reported counts schools with no accepted row yet. since_snapshot_date
-- is NULL, and the baseline counts 0, when no snapshot qualifies.
WITH baseline AS (
    SELECT COALESCE(
        (
            SELECT MAX(report_date) FROM snapshot
            WHERE report_date <= :since_date AND report_date <= :report_date
        ),
        (
            SELECT MIN(report_date) FROM snapshot
            WHERE report_date > :since_date AND report_date <= :report_date
        )
    ) AS since_snapshot_date
),
statuses AS (
    SELECT 1 AS sort_order, 'connected' AS status
    UNION ALL SELECT 2, 'procuring'
    UNION ALL SELECT 3, 'not_connected'
    UNION ALL SELECT 4, 'no_provider'
    UNION ALL SELECT 5, 'never_reported'
),
classified AS (
    SELECT
        s.report_date,
        CASE WHEN s.accepted_on IS NULL THEN 'never_reported' ELSE s.status END AS status
    FROM snapshot s
    WHERE s.report_date = :report_date
        OR s.report_date = (SELECT since_snapshot_date FROM baseline)
),
counts AS (
    SELECT
        c.status,
        SUM(CASE WHEN c.report_date = :report_date THEN 1 ELSE 0 END) AS schools,
        SUM(CASE WHEN c.report_date = b.since_snapshot_date THEN 1 ELSE 0 END) AS schools_since
    FROM classified c
    CROSS JOIN baseline b
    GROUP BY c.status
)
SELECT
    st.status,
    COALESCE(n.schools, 0) AS schools,
    COALESCE(n.schools_since, 0) AS schools_since,
    COALESCE(n.schools, 0) - COALESCE(n.schools_since, 0) AS change,
    b.since_snapshot_date
FROM statuses st
CROSS JOIN baseline b
LEFT JOIN counts n ON n.status = st.status
ORDER BY st.sort_order
