-- The top-up budget asked for, per ESA level and OBEC size class, on one report date: schools in
-- the class, schools requesting support (support_requested_thb above 0) and the baht a month
-- they request in total. Every level and class has a row, in size order.
-- Size classes depend on the level; their thresholds are parameters (each the fewest students
-- of a class), so they stay configurable. OBEC's, in schoolnet.warehouse.analysis.
-- OBEC_SIZE_THRESHOLDS: primary small 1-120, medium 121-600, large 601-1,500,
-- extra_large 1,501+; secondary small 1-499, medium 500-1,499, large 1,500-2,499,
-- extra_large 2,500+. A school with 0 students counts as small.
-- Students: the count in the school's last accepted row, else the school registry's.
-- The level is that of the school's ESA (a school whose ESA is no longer registered is left out).
-- students_to is NULL for the open-ended extra_large class.
WITH size_classes AS (
    SELECT
        'primary' AS level,
        1 AS class_order,
        'small' AS size_class,
        0 AS min_students,
        CAST(:primary_medium_min AS INTEGER) AS below_students
    UNION ALL
    SELECT
        'primary', 2, 'medium',
        CAST(:primary_medium_min AS INTEGER), CAST(:primary_large_min AS INTEGER)
    UNION ALL
    SELECT
        'primary', 3, 'large',
        CAST(:primary_large_min AS INTEGER), CAST(:primary_extra_min AS INTEGER)
    UNION ALL
    SELECT
        'primary', 4, 'extra_large',
        CAST(:primary_extra_min AS INTEGER), CAST(NULL AS INTEGER)
    UNION ALL
    SELECT
        'secondary', 1, 'small',
        0, CAST(:secondary_medium_min AS INTEGER)
    UNION ALL
    SELECT
        'secondary', 2, 'medium',
        CAST(:secondary_medium_min AS INTEGER), CAST(:secondary_large_min AS INTEGER)
    UNION ALL
    SELECT
        'secondary', 3, 'large',
        CAST(:secondary_large_min AS INTEGER), CAST(:secondary_extra_min AS INTEGER)
    UNION ALL
    SELECT
        'secondary', 4, 'extra_large',
        CAST(:secondary_extra_min AS INTEGER), CAST(NULL AS INTEGER)
),
schools AS (
    SELECT
        e.level,
        COALESCE(s.students, sc.students) AS students,
        s.support_requested_thb
    FROM snapshot s
    JOIN esa e ON e.esa_code = s.esa_code
    LEFT JOIN school sc ON sc.school_code = s.school_code
    WHERE s.report_date = :report_date
)
SELECT
    c.level,
    c.size_class,
    CASE WHEN c.min_students < 1 THEN 1 ELSE c.min_students END AS students_from,
    c.below_students - 1 AS students_to,
    COUNT(x.level) AS schools,
    SUM(CASE WHEN x.support_requested_thb > 0 THEN 1 ELSE 0 END) AS requesting,
    COALESCE(
        SUM(CASE WHEN x.support_requested_thb > 0 THEN x.support_requested_thb END), 0
    ) AS support_requested_thb
FROM size_classes c
LEFT JOIN schools x
    ON x.level = c.level
    AND x.students >= c.min_students
    AND (c.below_students IS NULL OR x.students < c.below_students)
GROUP BY c.level, c.class_order, c.size_class, c.min_students, c.below_students
ORDER BY c.level, c.class_order
