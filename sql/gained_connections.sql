-- Schools connected on report_date that were not connected at the previous report
-- (previous_date, from previous_report_date.sql): the gains beside the losses of
-- lost_connections.sql in the report's headline. A school not yet in the registry on
-- previous_date, or not reported then, counts as not connected then.
SELECT COUNT(*) AS gained
FROM snapshot t
LEFT JOIN snapshot was ON was.report_date = :previous_date AND was.school_code = t.school_code
WHERE t.report_date = :report_date
    AND t.status = 'connected'
    AND (was.status IS NULL OR was.status <> 'connected')
