-- The escalation list: schools that no provider reaches, with what their ESA has tried.
-- Ordered by codes, which every engine and collation orders alike (Thai names do not: a
-- PostgreSQL with a Thai-aware collation skips leading vowels): by ESA code, which keeps a
-- province's offices together, then by school code.
SELECT
    s.school_code,
    sc.school_name,
    e.esa_name,
    sc.province,
    s.students,
    s.providers_contacted,
    s.accepted_on,
    s.note
FROM snapshot s
JOIN school sc ON sc.school_code = s.school_code
JOIN esa e ON e.esa_code = s.esa_code
WHERE s.report_date = :report_date AND s.status = 'no_provider'
ORDER BY s.esa_code, s.school_code
