"""AppTest of the hypothesis dashboard page: default view, interactions and bad uploads."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

PAGE = "pages/5_hypothesis_dashboard.py"


HEADLINE = "67 of 89 viewers (75 %) said Yes"
VERDICT = (
    "Not enough evidence yet that more than 70 % of viewers say yes: 75 % said yes, but with 89 answers that "
    "could be chance (p = 0.28)."
)


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [m.value for m in at.caption]
    for kind in ("success", "info", "warning", "error"):
        parts += [e.value for e in getattr(at, kind)]
    return " ".join(str(p) for p in parts)


@pytest.fixture(scope="module")
def demo_page():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    return at


def test_default_view_on_demo(demo_page):
    at = demo_page
    assert not at.exception
    assert at.title[0].value == "Hypothesis dashboard"
    text = _text(at)
    assert "90 responses" in text
    assert "67 of 89 respondents (75.3%) answered 'Yes'" in text and "not rejected" in text
    assert "VADER" in text
    labels = {m.label: m.value for m in at.metric}
    assert labels["Positive"] == "31" and labels["Answers"] == "60"
    assert at.number_input(key="dashboard_claim").value == 0.7
    assert at.number_input(key="dashboard_alpha").value == 0.05
    assert [t.label for t in at.tabs] == ["Explore", "Hypothesis test", "Sentiment", "Export"]
    assert any("below 5" in w.value for w in at.warning)  # the crosstab's small expected counts


def test_headline_and_verdict_come_first(demo_page):
    """Issue 12: the count in large type, then one plain sentence, before any chart or setting."""
    at = demo_page
    assert not at.exception
    order = list(at.main)  # every element, in page order
    headline = next(i for i, e in enumerate(order) if HEADLINE in str(getattr(e, "value", "")))
    assert "font-size:3rem" in order[headline].value
    assert order[headline + 1].value == f"#### {VERDICT}"
    kinds = [type(e).__name__ for e in order]
    assert headline < kinds.index("Tab") and "Expander" not in kinds[:headline]
    assert str(at.expander[0].label).startswith("Details")  # the statistics are folded under the verdict
    details = " ".join(m.value for m in at.expander[0].markdown)
    assert "54 % of the time" in details and "In statistical terms" in details
    assert "0.27696" not in _text(at)  # no raw floats on screen
    # No delta arrows on things that are not changes.
    assert all(type(m.proto).MetricDirection.Name(m.proto.direction) == "NONE" for m in at.metric)
    stats = {m.label: m.value for m in at.metric}
    assert stats["p-value (χ²)"] == "0.28" and stats["95 % confidence interval"] == "65 % – 83 %"
    assert not any(m.delta for m in at.expander[0].metric)
    # Long labels are shortened for the widget, with the full text on hover.
    ring = at.selectbox(key="dashboard_sunburst_ring_2")
    assert ring.value.startswith("In your opinion") and "Full text" in ring.help


def test_verdict_follows_the_settings():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.number_input(key="dashboard_claim").set_value(0.5).run()
    assert not at.exception
    assert "#### Most viewers say yes: 75 % did, clearly more than half (p < 0.001)." in _text(at)
    at.number_input(key="dashboard_claim").set_value(0.9).run()
    assert "#### Fewer than 90 % of viewers say yes: only 75 % did" in _text(at)


def test_changing_the_claim_changes_the_verdict(demo_page):
    at = demo_page
    at.number_input(key="dashboard_claim").set_value(0.9).run()
    assert not at.exception
    assert "rejects the claim of 90%" in _text(at)
    at.selectbox(key="dashboard_test_q").set_value("Which would you prefer for online learning?").run()
    assert not at.exception
    assert "answered 'Traditional System + AI generated & animated faces option'" in _text(at)


@pytest.mark.parametrize(
    "payload, message",
    [
        (bytes(np.random.default_rng(1).integers(0, 256, 2048, dtype=np.uint8)), "not a CSV"),
        (b"", "empty"),
        (b"q\nYes\nYes\nYes\n", "same answer"),
        (None, "larger than"),
    ],
)
def test_bad_uploads_give_clear_messages(payload, message):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["dashboard_source"] = "Upload a CSV export"
    at.session_state["dashboard_upload"] = ("upload.csv", payload)
    at.run()
    assert not at.exception
    assert message in _text(at)
    # The page keeps working: switching back to the demo shows the analysis again.
    at.radio(key="dashboard_source").set_value("Bundled demo survey").run()
    assert not at.exception and "90 responses" in _text(at)


def test_summary_downloads_carry_the_hypothesis_test():
    """Issue 22: the summary files are built in the script run (bytes, not a deferred callable), so they
    carry the test shown on the page and need no ScriptRunContext when downloaded."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    for label in ("Summary (Markdown)", "Summary (HTML)"):
        assert buttons[label].url and not buttons[label].deferred_file_id
    preview = next(e for e in at.expander if e.label == "Preview the summary").markdown[0].value
    assert "## Hypothesis test" in preview and f"**{HEADLINE}.** {VERDICT}" in preview
    assert "## Sentiment" in preview  # the sentiment tab ran before the export tab in the same run


def test_crosstab_statistics_are_folded_and_defaults_match_whole_words():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    main_text = " ".join(m.value for m in at.main.markdown)
    assert "link between the answers" in main_text and "χ²" not in main_text.split("Pearson")[0]
    details = next(e for e in at.expander if str(e.label).startswith("Details: chi-square"))
    assert "Pearson χ²" in details.markdown[0].value


def test_default_questions_match_whole_words_not_substrings():
    """"age" picks "Age group" for the crosstab's rows, never "Preferred language" or "Usage" before it."""
    rows = ["Preferred language,Usage of streaming,Age group,Would you watch again?,Comments"]
    for i in range(12):
        rows.append(f"{['English', 'French'][i % 2]},{['daily', 'weekly'][i % 2]},"
                    f"{['18-24', '25-34', '35-44'][i % 3]},{['Yes', 'No'][i % 4 == 0]},nice idea number {i}")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["dashboard_source"] = "Upload a CSV export"
    at.session_state["dashboard_upload"] = ("languages.csv", "\n".join(rows).encode())
    at.run()
    assert not at.exception
    assert at.selectbox(key="dashboard_ct_rows").value == "Age group"
    assert at.selectbox(key="dashboard_ct_cols").value == "Would you watch again?"
    assert at.selectbox(key="dashboard_test_q").value == "Would you watch again?"
    assert at.selectbox(key="dashboard_sentiment_group").value == "Preferred language"  # no gender: the first
