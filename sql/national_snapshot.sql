-- Every school on one report date, one row each (the export): registry identity (name, ESA,
-- province, level, from the registries as of the latest run), every value of the district sheet
-- contract as last accepted, and accepted_on, the date they were accepted (NULL: never
-- reported). By school code.
SELECT
    s.report_date,
    s.school_code,
    sc.school_name,
    s.esa_code,
    e.esa_name,
    sc.province,
    e.level,
    s.students,
    s.status,
    s.isp,
    s.link_type,
    s.download_mbps,
    s.upload_mbps,
    s.monthly_fee_thb,
    s.funding_source,
    s.support_requested_thb,
    s.support_reason,
    s.providers_contacted,
    s.service_start,
    s.note,
    s.accepted_on
FROM snapshot s
LEFT JOIN school sc ON sc.school_code = s.school_code
LEFT JOIN esa e ON e.esa_code = s.esa_code
WHERE s.report_date = :report_date
ORDER BY s.school_code
