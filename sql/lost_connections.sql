-- Schools that lost their connection: connected at one report and not connected at the next
-- report, for the reports dated after since_date up to report_date. With since_date = the
-- previous report date this is "lost since the previous report" (the headline's count, the
-- email's list, each ESA's standing); with since_date = report_date - 7, "over the last 7 days".
--
-- "The next report" is the next date that has a snapshot, so a missed weekend compares Friday
-- with Monday, as change_since.sql does. Each school is listed once, on the latest report date
-- it was found lost (lost_on), with what it had before (isp and link_type of the report before
-- that date) and what it has today (status, note and reconnected, from report_date's
-- snapshot). A school only in the registry of an earlier date (removed since) is not listed;
-- a school of an ESA whose sheet failed or was rejected keeps its last accepted values, so it
-- is not lost. Ordered by ESA code, then school code (codes sort alike on every engine).
WITH report_dates AS (
    -- The reports up to report_date from the last one on or before since_date (the one the
    -- first report after since_date is compared with).
    SELECT DISTINCT report_date FROM snapshot
    WHERE report_date <= :report_date
        AND report_date >= COALESCE(
            (SELECT MAX(report_date) FROM snapshot WHERE report_date <= :since_date), :since_date
        )
),
steps AS (
    -- Each report and the one before it (a window, so every engine computes the pairs once).
    SELECT report_date AS lost_on, LAG(report_date) OVER (ORDER BY report_date) AS before_date
    FROM report_dates
),
losses AS (
    SELECT
        st.lost_on,
        st.before_date,
        was.school_code,
        was.isp AS previous_isp,
        was.link_type AS previous_link_type,
        ROW_NUMBER() OVER (PARTITION BY was.school_code ORDER BY st.lost_on DESC) AS latest
    FROM steps st
    JOIN snapshot was ON was.report_date = st.before_date AND was.status = 'connected'
    JOIN snapshot lost ON lost.report_date = st.lost_on AND lost.school_code = was.school_code
    WHERE st.lost_on > :since_date
        AND st.before_date IS NOT NULL
        AND (lost.status IS NULL OR lost.status <> 'connected')
)
SELECT
    l.lost_on,
    l.before_date,
    t.school_code,
    COALESCE(sc.school_name, t.school_code) AS school_name,
    t.esa_code,
    COALESCE(e.esa_name, t.esa_code) AS esa_name,
    sc.province,
    t.students,
    l.previous_isp,
    l.previous_link_type,
    t.status,
    CASE WHEN t.status = 'connected' THEN 1 ELSE 0 END AS reconnected,
    t.note,
    t.accepted_on
FROM losses l
JOIN snapshot t ON t.report_date = :report_date AND t.school_code = l.school_code
LEFT JOIN school sc ON sc.school_code = t.school_code
LEFT JOIN esa e ON e.esa_code = t.esa_code
WHERE l.latest = 1
ORDER BY t.esa_code, t.school_code
