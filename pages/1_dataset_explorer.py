"""Dataset explorer page (placeholder until its issue lands)."""

from pages._common import not_ready, page_header

page_header("Dataset explorer", "Custom Cast")
not_ready("The Dataset explorer", "issue 3 (face pipeline)")
