"""Hypothesis dashboard page (placeholder until its issue lands)."""

import streamlit as st

from pages._common import not_ready, page_header

page_header("Hypothesis dashboard", "Custom Cast")
not_ready("The Hypothesis dashboard", "issue 2 (hypothesis dashboard)")
