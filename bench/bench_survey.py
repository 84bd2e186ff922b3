"""Benchmark: dashboard work for a 10,000-response survey, against the 90-response demo as baseline.

Prints, for each survey: load (parse + detect roles + clean), VADER scoring (done once per load and cached
by the page), "render" = computing every chart's data, building every plotly figure and serialising it to
JSON as st.plotly_chart does, and the word-cloud PNG (also cached). Target: render < 2 s at 10,000 rows.

    .venv/bin/python bench/bench_survey.py [--rows 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assets import make_demo_survey  # noqa: E402
from core import ASSETS_DIR  # noqa: E402
from core import survey as sv  # noqa: E402


def synthetic_survey(n: int, seed: int = 0) -> bytes:
    """Demo-schema survey with n rows; free text stitched from two demo sentences so most are unique."""
    rows = make_demo_survey.generate(seed=seed, n=n)
    rng = np.random.default_rng(seed)
    pool = make_demo_survey.FREE_TEXT
    for row in rows:
        if rng.random() < 0.2:
            row[-1] = ""
        else:
            a, b = rng.choice(len(pool), size=2, replace=False)
            row[-1] = f"{pool[a]} {pool[b]}"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(make_demo_survey.COLUMNS)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def render_everything(clean: sv.CleanSurvey, scores) -> int:
    """Every chart of the page: data + figure + JSON. Returns the number of figures built."""
    questions = clean.questions()
    figures = [sv.counts_figure(clean, q) for q in questions]
    gender, age, ethnicity = questions[4], questions[5], questions[6]
    yes_no = clean.questions(sv.ROLE_YES_NO)[0]
    figures.append(sv.sunburst_figure(clean, [gender, ethnicity, yes_no]))
    crosstab = sv.crosstab_test(clean, age, questions[0])
    figures.append(sv.crosstab_figure(crosstab, age, questions[0]))
    test = sv.proportion_test(clean, yes_no, "Yes", claim=0.7, alpha=0.05)
    figures.append(sv.proportion_figure(test))
    labelled = scores.assign(label=sv.label_sentiment(scores["compound"], 0.05, -0.05))
    sv.sentiment_summary(labelled)
    sv.sentiment_extremes(labelled)
    figures.append(sv.sentiment_histogram(labelled, 0.05, -0.05))
    figures.append(sv.sentiment_group_figure(sv.sentiment_by_group(clean, labelled, gender), gender))
    sv.summary_markdown(clean, test, sv.sentiment_summary(labelled), clean.questions(sv.ROLE_FREE_TEXT)[0])
    for fig in figures:
        fig.to_json()
    return len(figures)


def measure(data: bytes, repeats: int) -> dict[str, float]:
    timings: dict[str, list[float]] = {"load": [], "sentiment": [], "render": [], "word cloud": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        clean = sv.clean_survey(sv.read_survey(data))
        t1 = time.perf_counter()
        text_column = clean.questions(sv.ROLE_FREE_TEXT)[0]
        sv.vader_analyzer.cache_clear()
        scores = sv.sentiment_scores(clean.data[text_column])
        t2 = time.perf_counter()
        n_figures = render_everything(clean, scores)
        t3 = time.perf_counter()
        sv.word_cloud_png(scores["text"])
        t4 = time.perf_counter()
        for key, value in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            timings[key].append(value)
    out = {k: min(v) for k, v in timings.items()}
    out["figures"] = n_figures
    out["rows"] = len(clean.data)
    out["unique answers"] = int(scores["text"].nunique())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    # Warm up imports (plotly, scipy, VADER lexicon, wordcloud) so they are not charged to either run.
    measure((ASSETS_DIR / "demo_survey.csv").read_bytes(), 1)
    base = measure((ASSETS_DIR / "demo_survey.csv").read_bytes(), args.repeats)
    big = measure(synthetic_survey(args.rows), args.repeats)
    print(f"{'':16s}{'demo':>12s}{f'{args.rows:,} rows':>16s}{'ratio':>8s}   (best of {args.repeats})")
    for key in ("rows", "unique answers", "figures"):
        print(f"{key:16s}{base[key]:>12d}{big[key]:>16d}")
    for key in ("load", "sentiment", "render", "word cloud"):
        print(f"{key + ' [s]':16s}{base[key]:>12.3f}{big[key]:>16.3f}{big[key] / base[key]:>8.1f}x")
    verdict = "OK" if big["render"] < 2.0 else "TOO SLOW"
    print(f"render of every chart after load at {args.rows:,} rows: {big['render']:.3f} s (< 2 s: {verdict})")


if __name__ == "__main__":
    main()
