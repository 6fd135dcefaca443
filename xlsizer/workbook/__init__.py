"""Workbooks: the template planners fill, and reading a filled project back.

The only package that imports openpyxl; the engine never does.
"""

from xlsizer.workbook.checklist import CHECKLIST, STATUSES, ChecklistItem
from xlsizer.workbook.project import Project, read_project
from xlsizer.workbook.template import build_workbook, write_template

__all__ = ["CHECKLIST", "STATUSES", "ChecklistItem", "Project", "build_workbook", "read_project",
           "write_template"]
