"""Sentiment of free-text answers with VADER (Hutto & Gilbert, 2014), a lexicon and rule-based model, using
the authors' standard +/-0.05 compound-score thresholds (adjustable)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from core.survey.cleaning import CleanSurvey, require_question
from core.survey.errors import SurveyError
from core.survey.roles import SINGLE_CHOICE_ROLES

# VADER authors' recommended cut-offs on the compound score.
DEFAULT_POSITIVE_THRESHOLD = 0.05
DEFAULT_NEGATIVE_THRESHOLD = -0.05
SENTIMENT_LABELS = ("positive", "neutral", "negative")


@lru_cache(maxsize=1)
def vader_analyzer():
    """The VADER analyser, built once per process (loading its lexicon takes a moment)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_scores(
    texts: pd.Series,
    positive_threshold: float = DEFAULT_POSITIVE_THRESHOLD,
    negative_threshold: float = DEFAULT_NEGATIVE_THRESHOLD,
) -> pd.DataFrame:
    """VADER compound score and label per non-blank answer (index kept to join with other columns).

    Each distinct answer is scored once, so repeated answers cost nothing.
    """
    if negative_threshold > positive_threshold:
        raise SurveyError("The negative threshold must not exceed the positive threshold.")
    answers = texts.dropna().astype(str).str.strip()
    answers = answers[answers != ""]
    analyzer = vader_analyzer()
    unique = pd.unique(answers.to_numpy())
    score_of = {t: analyzer.polarity_scores(t)["compound"] for t in unique}
    compound = answers.map(score_of).astype(float)
    return pd.DataFrame(
        {
            "text": answers,
            "compound": compound,
            "label": label_sentiment(compound, positive_threshold, negative_threshold),
        }
    )


def label_sentiment(compound: pd.Series, positive_threshold: float, negative_threshold: float) -> pd.Series:
    """'positive' / 'neutral' / 'negative' per compound score, as an ordered categorical."""
    labels = np.where(
        compound >= positive_threshold,
        "positive",
        np.where(compound <= negative_threshold, "negative", "neutral"),
    )
    return pd.Series(pd.Categorical(labels, categories=SENTIMENT_LABELS), index=compound.index)


def sentiment_summary(scores: pd.DataFrame) -> dict[str, int]:
    """{'n', 'positive', 'neutral', 'negative'} counts of :func:`sentiment_scores` output."""
    counts = scores["label"].value_counts().reindex(SENTIMENT_LABELS, fill_value=0)
    return {"n": int(len(scores)), **{k: int(v) for k, v in counts.items()}}


def sentiment_extremes(scores: pd.DataFrame, k: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``k`` most positive and ``k`` most negative answers (stable on ties)."""
    ordered = scores.sort_values("compound", kind="stable")
    return (
        ordered.iloc[::-1].head(k)[["text", "compound"]].reset_index(drop=True),
        ordered.head(k)[["text", "compound"]].reset_index(drop=True),
    )


def sentiment_by_group(clean: CleanSurvey, scores: pd.DataFrame, group: str) -> pd.DataFrame:
    """Per answer of ``group``: n, mean compound score and positive/neutral/negative shares."""
    require_question(clean, group, SINGLE_CHOICE_ROLES)
    joined = scores.join(clean.data[group].rename("group")).dropna(subset=["group"])
    if joined.empty:
        return pd.DataFrame(columns=["group", "n", "mean_compound", *SENTIMENT_LABELS])
    shares = pd.crosstab(joined["group"], joined["label"], normalize="index", dropna=False)
    shares = shares.reindex(columns=list(SENTIMENT_LABELS), fill_value=0.0)
    stats = joined.groupby("group", observed=True)["compound"].agg(["size", "mean"])
    out = stats.join(shares, how="left").reset_index()
    out.columns = ["group", "n", "mean_compound", *SENTIMENT_LABELS]
    out["group"] = out["group"].astype(str)
    return out
