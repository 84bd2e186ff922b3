"""StyleGAN2 sampler page (placeholder until its issue lands)."""

from pages._common import not_ready, page_header

page_header("StyleGAN2 sampler", "Custom Cast")
not_ready("The StyleGAN2 sampler", "issue 5 (StyleGAN2)")
