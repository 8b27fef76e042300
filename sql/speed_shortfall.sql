-- The connected schools farthest below the speed target on one report date: the smallest share
-- of their own target first (2 of 20 Mbps before 15 of 20), then by school code; at most limit rows.
-- The target is the one of speed_target.sql (same parameters).
WITH target AS (
    SELECT
        s.school_code,
        s.esa_code,
        sc.school_name,
        sc.province,
        COALESCE(s.students, sc.students) AS students,
        s.isp,
        s.link_type,
        s.download_mbps,
        CASE
            WHEN COALESCE(s.students, sc.students, 0) > :per_student_over
                AND COALESCE(s.students, sc.students, 0) * :kbps_per_student / 1000.0 > :min_mbps
            THEN COALESCE(s.students, sc.students, 0) * :kbps_per_student / 1000.0
            ELSE :min_mbps
        END AS required_mbps
    FROM snapshot s
    LEFT JOIN school sc ON sc.school_code = s.school_code
    WHERE s.report_date = :report_date AND s.status = 'connected' AND s.download_mbps IS NOT NULL
)
SELECT
    t.school_code,
    t.school_name,
    e.esa_name,
    t.province,
    t.students,
    t.isp,
    t.link_type,
    t.download_mbps,
    t.required_mbps
FROM target t
LEFT JOIN esa e ON e.esa_code = t.esa_code
WHERE t.download_mbps < t.required_mbps
ORDER BY t.download_mbps / t.required_mbps, t.school_code
LIMIT :limit
