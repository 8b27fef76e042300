-- Connected schools against the speed target on one report date, counted four ways: the whole
-- country, per province (the school's own, NULL for a school no longer in the registry), per
-- link type and per ESA. One row per (dimension, name); the caller orders them.
-- A school's target is min_mbps, or kbps_per_student for each student when it has more than
-- per_student_over students and that is more (Giga 2030: 20 Mbps, 50 kbps, 400). Students are
-- the sheet's count, else the registry's.
-- measured: connected schools with a download speed; meeting: those at or above their target.
WITH target AS (
    SELECT
        s.esa_code,
        sc.province,
        COALESCE(s.link_type, 'other') AS link_type,
        s.download_mbps,
        CASE
            WHEN COALESCE(s.students, sc.students, 0) > :per_student_over
                AND COALESCE(s.students, sc.students, 0) * :kbps_per_student / 1000.0 > :min_mbps
            THEN COALESCE(s.students, sc.students, 0) * :kbps_per_student / 1000.0
            ELSE :min_mbps
        END AS required_mbps
    FROM snapshot s
    LEFT JOIN school sc ON sc.school_code = s.school_code
    WHERE s.report_date = :report_date AND s.status = 'connected'
),
counted AS (
    SELECT
        esa_code,
        province,
        link_type,
        1 AS connected,
        CASE WHEN download_mbps IS NOT NULL THEN 1 ELSE 0 END AS measured,
        CASE WHEN download_mbps >= required_mbps THEN 1 ELSE 0 END AS meeting
    FROM target
)
SELECT 'national' AS dimension, '' AS name,
       COUNT(*) AS connected, COALESCE(SUM(measured), 0) AS measured,
       COALESCE(SUM(meeting), 0) AS meeting
FROM counted
UNION ALL
SELECT 'province', province, COUNT(*), SUM(measured), SUM(meeting)
FROM counted GROUP BY province
UNION ALL
SELECT 'link_type', link_type, COUNT(*), SUM(measured), SUM(meeting)
FROM counted GROUP BY link_type
UNION ALL
SELECT 'esa', esa_code, COUNT(*), SUM(measured), SUM(meeting)
FROM counted GROUP BY esa_code
