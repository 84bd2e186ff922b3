"""FOMM animator page (placeholder until its issue lands)."""

import streamlit as st

from pages._common import not_ready, page_header

page_header("FOMM animator", "Custom Cast")
not_ready("The FOMM animator", "issue 6 (FOMM animator)")
