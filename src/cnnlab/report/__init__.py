"""The report built from run directories: `build_report` (HTML + Markdown), `summary_rows`."""

from cnnlab.report.build import build_report
from cnnlab.report.runs import load_run, summary_rows

__all__ = ["build_report", "load_run", "summary_rows"]
