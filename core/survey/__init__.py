"""Survey analysis behind the hypothesis dashboard: reading, cleaning, exploration, tests, sentiment, figures.

The seed study ("You Choose") showed viewers a video of the system and surveyed them with a Google Form,
and tested its headline claim with a chi-square goodness-of-fit test. One topic per module:

============================  ==========================================================================
``reading``                   encoding (UTF-8/BOM, UTF-16, Latin-1) and delimiter detection, CSV parsing
``roles``                     column roles (multiple choice, checkboxes, yes/no, free text, timestamp)
``cleaning``                  role overrides, blanks, one-off answers folded into "Other", category order
``counts``                    answer counts and shares, sunburst nodes
``defaults``                  the questions the dashboard shows first, found by whole words
``significance``              claim test (chi-square GOF, exact binomial, Wilson CI, power, verdict), crosstab
``wording``                   plain words for the room: headline count, verdict, rounded p-values and percents
``sentiment``                 VADER scores, labels, extremes, by group
``figures``                   plotly figures and the word cloud
``report``                    Markdown/HTML summary, spreadsheet-safe cleaned CSV, CLI report and JSON
``cli`` / ``__main__``        ``python -m core.survey report CSV [--question TEXT] [--claim P] [--json]``
============================  ==========================================================================

Everything works on plain pandas objects and returns plain data or plotly figures; the Streamlit page only
wires widgets to these functions. This family never imports torch (an import-linter contract checks it).
"""

from core.survey.cleaning import (
    OTHER,
    CleanSurvey,
    category_order,
    clean_survey,
    find_question,
    fold_rare_answers,
    require_question,
    selected_options,
)
from core.survey.cli import main
from core.survey.counts import all_answer_counts, answer_counts, sunburst_data
from core.survey.defaults import default_crosstab, default_group, default_rings, default_test_question
from core.survey.errors import SurveyError
from core.survey.figures import (
    EXTRA_STOPWORDS,
    counts_figure,
    crosstab_figure,
    figure_html,
    frequency_cloud_png,
    proportion_figure,
    sentiment_group_figure,
    sentiment_histogram,
    sunburst_figure,
    word_cloud_png,
)
from core.survey.reading import (
    DELIMITERS,
    MAX_BYTES,
    MAX_COLUMNS,
    MAX_ROWS,
    Survey,
    decode_bytes,
    parse_csv,
    read_survey,
    sniff_delimiter,
)
from core.survey.report import (
    build_report,
    cleaned_csv_bytes,
    format_report,
    neutralise_formula,
    report_json,
    summary_html,
    summary_markdown,
)
from core.survey.roles import (
    CHOICE_ROLES,
    MAX_CATEGORIES,
    ROLE_CATEGORICAL,
    ROLE_FREE_TEXT,
    ROLE_IGNORE,
    ROLE_MULTI,
    ROLE_TIMESTAMP,
    ROLE_YES_NO,
    ROLES,
    SINGLE_CHOICE_ROLES,
    detect_role,
    mentions,
    split_options,
)
from core.survey.sentiment import (
    DEFAULT_NEGATIVE_THRESHOLD,
    DEFAULT_POSITIVE_THRESHOLD,
    SENTIMENT_LABELS,
    label_sentiment,
    sentiment_by_group,
    sentiment_extremes,
    sentiment_scores,
    sentiment_summary,
    vader_analyzer,
)
from core.survey.significance import (
    ALPHA_RANGE,
    CLAIM_RANGE,
    DEFAULT_ALPHA,
    DEFAULT_CLAIM,
    CrosstabResult,
    ProportionTest,
    check_alpha,
    check_claim,
    claim_test,
    crosstab_test,
    default_positive,
    power_at,
    proportion_test,
    verdict_sentence,
)
from core.survey.wording import (
    DETECTABLE_DIFFERENCE,
    MIN_ANSWERS,
    TARGET_POWER,
    VERDICT_AGAINST,
    VERDICT_CLOSE,
    VERDICT_SUPPORTED,
    VERDICT_TOO_FEW,
    Verdict,
    answers_needed,
    detectable_power,
    detectable_share,
    format_p_value,
    format_percent,
    headline_sentence,
    plain_verdict,
    power_sentence,
    short_label,
    short_label_map,
    verdict_kind,
    verdict_words,
)

__all__ = [
    "all_answer_counts", "ALPHA_RANGE", "answer_counts", "build_report", "category_order", "check_alpha",
    "check_claim", "sunburst_data",
    "CHOICE_ROLES", "CLAIM_RANGE", "claim_test", "clean_survey", "cleaned_csv_bytes", "CleanSurvey",
    "counts_figure", "crosstab_figure", "crosstab_test", "CrosstabResult", "decode_bytes", "DEFAULT_ALPHA",
    "DEFAULT_CLAIM", "default_crosstab", "default_group", "default_rings", "default_test_question",
    "DEFAULT_NEGATIVE_THRESHOLD", "default_positive", "DEFAULT_POSITIVE_THRESHOLD",
    "DELIMITERS", "detect_role", "EXTRA_STOPWORDS", "figure_html", "find_question", "fold_rare_answers",
    "format_report", "label_sentiment", "main", "MAX_BYTES", "MAX_CATEGORIES", "MAX_COLUMNS", "MAX_ROWS",
    "mentions", "neutralise_formula", "OTHER", "parse_csv", "proportion_figure", "proportion_test",
    "ProportionTest",
    "read_survey", "report_json", "require_question", "ROLE_CATEGORICAL", "ROLE_FREE_TEXT", "ROLE_IGNORE",
    "ROLE_TIMESTAMP", "ROLE_YES_NO", "ROLES", "sentiment_by_group", "sentiment_extremes",
    "sentiment_group_figure", "sentiment_histogram", "SENTIMENT_LABELS", "sentiment_scores",
    "sentiment_summary", "sniff_delimiter", "summary_html", "summary_markdown", "sunburst_figure", "Survey",
    "SurveyError", "vader_analyzer", "verdict_sentence", "word_cloud_png", "frequency_cloud_png",
    "ROLE_MULTI", "SINGLE_CHOICE_ROLES", "selected_options", "split_options",
    # wording: the room's headline and verdict
    "DETECTABLE_DIFFERENCE", "detectable_power", "detectable_share", "format_p_value", "format_percent",
    "headline_sentence", "MIN_ANSWERS", "plain_verdict", "power_at", "power_sentence", "short_label",
    "short_label_map", "TARGET_POWER", "VERDICT_AGAINST", "VERDICT_CLOSE", "verdict_kind",
    "VERDICT_SUPPORTED", "VERDICT_TOO_FEW", "Verdict", "verdict_words", "answers_needed",
]
