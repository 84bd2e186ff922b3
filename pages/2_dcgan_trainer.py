"""DCGAN trainer page (placeholder until its issue lands)."""

from pages._common import not_ready, page_header

page_header("DCGAN trainer", "Custom Cast")
not_ready("The DCGAN trainer", "issue 4 (DCGAN trainer)")
