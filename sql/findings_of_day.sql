-- Every finding of one report date in every ESA's sheet, with the ESA's name (the report's
-- workbook lists them): where (sheet row, A1 cell, column header), how bad, what to do, and the
-- value as typed. By ESA code, then in the order the validator found them.
SELECT
    f.esa_code,
    e.esa_name,
    f.seq,
    f.row AS sheet_row,
    f.column_key,
    f.header,
    f.cell,
    f.severity,
    f.code,
    f.message,
    f.value
FROM finding f
LEFT JOIN esa e ON e.esa_code = f.esa_code
WHERE f.report_date = :report_date
ORDER BY f.esa_code, f.seq
