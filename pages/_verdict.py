"""The dashboard's verdict: the count in large type, one plain sentence, the statistics folded below.

Streamlit-side only (the numbers and sentences come from core.survey).
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core import survey as sv


def md_escape(text: str) -> str:
    """Survey text shown through Markdown, its Markdown characters escaped."""
    return "".join("\\" + c if c in "\\`*_[]|$~" else c for c in str(text))


def show_headline(test: sv.ProportionTest | None, box) -> None:
    """The room's first ten seconds: the count in large type, one plain verdict, the statistics folded."""
    with box:
        if test is None:
            st.info("Pick a question and the answer(s) to count under **Hypothesis test** for the headline.")
            return
        st.markdown(f"*“{md_escape(test.question)}”*")
        words = sv.verdict_words(test)
        st.markdown(
            f'<p style="font-size:3rem;font-weight:700;line-height:1.15;margin:0 0 0.4rem">'
            f"{html.escape(words.headline)}</p>",
            unsafe_allow_html=True,
        )
        alert = {sv.VERDICT_SUPPORTED: st.success, sv.VERDICT_AGAINST: st.warning}.get(words.kind, st.info)
        alert(f"#### {md_escape(words.sentence)}")
        with st.expander("Details: the statistics behind the verdict"):
            show_details(test, words)


def _p(p_value: float, alpha: float) -> str:
    return sv.format_p_value(p_value, alpha).removeprefix("p = ")


def show_details(test: sv.ProportionTest, words: sv.Verdict) -> None:
    conf = sv.format_percent(1 - test.alpha)
    m = st.columns(5)
    m[0].metric("χ² goodness of fit", f"{test.chi2:.2f}", help="Pearson's χ², 1 degree of freedom")
    m[1].metric("p-value (χ²)", _p(test.p_value, test.alpha))
    m[2].metric("p-value (exact binomial)", _p(test.binomial_p_value, test.alpha))
    m[3].metric(
        f"{conf} confidence interval",
        f"{sv.format_percent(test.ci_low)} – {sv.format_percent(test.ci_high)}",
        help="Wilson score interval for the share of viewers who answer yes.",
    )
    m[4].metric(
        f"Power at n = {test.n}",
        sv.format_percent(test.power),
        help=f"Chance the test finds a difference if the true share is exactly the observed "
        f"{sv.format_percent(test.observed_share)} (the sentence below asks about a 10-point difference).",
    )
    st.markdown(sv.power_sentence(test))
    st.markdown(f"In statistical terms: {md_escape(words.statistics)}")
    st.dataframe(
        pd.DataFrame(
            {
                "": ["observed", f"expected if the claim ({test.claim:.0%}) is exact"],
                "counted as yes": [test.observed_positive, round(test.expected_positive, 1)],
                "other answers": [test.observed_negative, round(test.expected_negative, 1)],
            }
        ),
        hide_index=True,
    )
    if min(test.expected_positive, test.expected_negative) < 5:
        st.warning(
            "Fewer than 5 answers are expected in a cell, so the χ² approximation is rough; the exact "
            f"binomial test ({sv.format_p_value(test.binomial_p_value, test.alpha)}) is the safer figure."
        )
    st.caption(
        "χ² goodness of fit of observed vs claimed counts (the original study's test, two-sided), with the "
        "exact binomial test, the Wilson confidence interval and the power at this sample size."
    )
