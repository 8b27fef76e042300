-- The latest report date before the given one that has a snapshot.
SELECT MAX(report_date) AS previous_date
FROM snapshot
WHERE report_date < :report_date
