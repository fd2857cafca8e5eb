"""HTML reports people look at: a batch's QC page and a training run's report.

- :func:`write_batch_page`: one ``report.html`` per batch command (skullstrip, segment predict,
  explain gradcam): a row per scan with its mosaic and QC numbers, flagged scans first,
  sortable, filterable, paginated, with ratings exported as CSV.
- :func:`write_run_report`: ``RUN/report.html`` of a training run: learning curves, metrics with
  their 95% intervals and the task's own figures (:meth:`~brainmri.core.tasks.Task.report_sections`).

Pages are self-contained (one HTML file plus a folder of pictures) and fetch nothing.
"""

from .page import FILES_DIR, PAGE_NAME, Column, Row, files_dir, picture_path, scan_files, write_batch_page
from .run_page import Section, figure, read_rows, rows_with_target, write_run_report

__all__ = [
    "FILES_DIR",
    "PAGE_NAME",
    "Column",
    "Row",
    "Section",
    "figure",
    "files_dir",
    "picture_path",
    "scan_files",
    "read_rows",
    "rows_with_target",
    "write_batch_page",
    "write_run_report",
]
