"""StyleGAN2 sampler page (placeholder until its issue lands)."""

import streamlit as st

from pages._common import not_ready, page_header

page_header("StyleGAN2 sampler", "Custom Cast")
not_ready("The StyleGAN2 sampler", "issue 5 (StyleGAN2)")
