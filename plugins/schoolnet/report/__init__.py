"""The ministry's report: figures, rendering, charts, map, PDF, workbook, export."""
