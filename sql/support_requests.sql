-- Schools asking for a top-up on one report date, with their ESA's level and their students
-- (the count in the school's last accepted row, else the school registry's): the policy's
-- grant is computed per school from these (schoolnet.policy.support_lines), because its cap
-- applies to each school, not to a class's total.
SELECT
    s.school_code,
    e.level,
    COALESCE(s.students, sc.students) AS students,
    s.support_requested_thb
FROM snapshot s
JOIN esa e ON e.esa_code = s.esa_code
LEFT JOIN school sc ON sc.school_code = s.school_code
WHERE s.report_date = :report_date AND s.support_requested_thb > 0
ORDER BY s.school_code
