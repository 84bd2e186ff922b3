"""Write assets/demo_survey.csv: a synthetic survey with the schema of the original "You Choose" export.

Every response is generated here from a fixed seed; the free-text answers below were written for this
demo (no real responses are copied). Answers are correlated with age so crosstabs and sunbursts show
something, one yes/no answer and some free-text answers are blank, and a few respondents typed their own
answer into a multiple-choice question (as Google Forms' "Other:" allows) so the cleaning step has work.

    .venv/bin/python assets/make_demo_survey.py          # rewrites assets/demo_survey.csv
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

SEED = 2020
N_RESPONSES = 90
OUT = Path(__file__).resolve().parent / "demo_survey.csv"

COLUMNS = [
    "Timestamp",
    "Which would you prefer for watching movies and TV?",
    "Which would you prefer for online learning?",
    "Which would you prefer for advertisements and commercials?",
    "Which would you prefer for online shopping?",
    "How do you define your gender?",
    "What is your age group?",
    "How do you define your ethnicity?",
    "In your opinion, could this format of viewing media create more diversity in the videos people see in general?",  # noqa: E501
    "Who would you choose to see in some of your favorite television shows or movies?",
    "How do you think this system could change general perceptions of stereotypes?",
]

BOTH = "Traditional System + AI generated & animated faces option"
TRADITIONAL = "Traditional System only"
AI_ONLY = "AI generated & animated faces option only"

GENDERS = (["Man", "Woman", "Prefer not to say", "Non-binary"], [0.5, 0.44, 0.03, 0.03])
AGES = (
    [
        "18-24 years old",
        "25-34 years old",
        "35-44 years old",
        "45-54 years old",
        "55-64 years old",
        "65-74 years old",
    ],
    [0.16, 0.38, 0.2, 0.12, 0.09, 0.05],
)
ETHNICITIES = (
    [
        "African-American/Black",
        "Caucasian/White",
        "Latino or Hispanic",
        "Asian",
        "Two or More",
        "Prefer not to say",
    ],
    [0.27, 0.3, 0.13, 0.12, 0.12, 0.06],
)
WHO = (
    ["Original cast", "Yourself", "AI generated actors/actresses", "Friends", "Family"],
    [0.34, 0.24, 0.18, 0.13, 0.11],
)

# Written for this demo: a spread of hopeful, sceptical and neutral views.
FREE_TEXT = [
    "It could let kids see heroes who look like them, which matters a lot when you are growing up.",
    "Honestly I worry it lets people avoid anyone different from themselves.",
    "It might make casting feel less like a gatekeeping exercise and more like a creative choice.",
    "Stereotypes live in the writing, not the faces. Swapping faces will not fix a lazy script.",
    "I love the idea of watching a classic film and seeing my grandmother's face in the lead role.",
    "People could pick a villain that matches their prejudice, and that is a scary thought.",
    "More representation on screen usually helps, so I am cautiously optimistic.",
    "Not sure. It depends on who controls the defaults.",
    "It would be fun for learning videos; a friendly familiar face keeps me paying attention.",
    "I think advertisers will abuse this to target us even more precisely. No thanks.",
    "It could show that any role can be played by anyone, which is a great message.",
    "Probably no change at all. People will choose what they already know.",
    "It may help break the idea that certain jobs belong to certain groups.",
    "Deepfakes already cause harm and this normalises them. I am against it.",
    "Seeing different faces in the same story could make viewers notice their own assumptions.",
    "It is an interesting experiment but I would still want the original actors.",
    "It could be empowering for people who never see themselves in mainstream media.",
    "Feels like a gimmick to me.",
    "Great for accessibility and inclusion if it is done with consent from the actors.",
    "Actors might lose work, and that hurts the very communities this claims to help.",
    "It might reduce stereotypes because the face is no longer tied to the character type.",
    "I do not think it changes perceptions, it just changes pixels.",
    "Kids' shows could use it to teach that heroes come in every shape and colour. Wonderful.",
    "It could reinforce stereotypes if people keep giving the same roles to the same faces.",
    "Hard to say without trying it.",
    "A brilliant way to let audiences explore empathy by seeing a story through another face.",
    "It would make me uncomfortable. Faces carry identity and should not be swapped like clothes.",
    "Could help a little, but real change needs diverse writers and directors too.",
    "I would enjoy it for online courses. Less so for films that are art.",
    "It risks turning identity into a setting in a menu, which feels shallow.",
    "Positive overall. Media shapes what we think is normal, and this widens normal.",
    "It depends entirely on how the choices are presented to viewers.",
    "I fear echo chambers: everyone sees only people like themselves and nothing else.",
    "Nice idea for ads, since I tune out anyway and a familiar face might help.",
    "It could challenge the assumption that the default protagonist is a white man. Good.",
    "Meh. Interesting tech, unclear social effect.",
    "This could be a powerful tool for teachers to connect with diverse classrooms.",
    "Manipulative. Companies will use it to sell more, not to reduce stereotypes.",
    "It could help older people relate to newer shows, which is sweet.",
    "I think it will make people question why certain faces were cast in certain roles at all.",
    "Neutral. I need to see it in practice.",
    "Letting audiences choose could amplify bias rather than reduce it.",
    "Happy to see more options; choice is good.",
    "It may cheapen the craft of acting, which is a shame.",
    "If people pick diverse faces, familiarity grows and prejudice shrinks. Hopeful!",
    "It could make stereotypes invisible instead of addressing them, which is worse.",
    "Fun for trying out what a film would feel like with a different cast.",
    "I am worried about consent and how the face data is stored.",
    "Could be useful in training videos so employees see colleagues who look like them.",
    "Not much. People are stubborn.",
    "A thoughtful way to show that stories are universal.",
    "It might distract from the story itself.",
    "I can imagine it helping shy students who find it easier to learn from someone familiar.",
    "Sounds creepy to me, seeing my own face on a stranger's body.",
    "It gives viewers agency, and agency is a good thing.",
    "It could go either way; the technology is neutral, the use is not.",
    "Wonderful for children's education, risky for news and politics.",
    "Representation chosen by the viewer is not the same as representation by the industry.",
    "Interesting, but I worry it lets studios avoid hiring diverse actors.",
    "Excellent idea, I would use it tomorrow.",
]

# A few respondents typed their own answer into a multiple-choice question (written for this demo).
TYPED_OTHER = {
    1: "Depends on the film",
    2: "Whatever keeps me awake in lectures",
    3: "I skip ads so it does not matter",
    4: "Only if the seller discloses it",
}


def _preference(rng: np.random.Generator, age_index: int, base: list[float]) -> str:
    # Younger respondents lean towards having the AI option; older ones towards the traditional system.
    shift = 0.06 * (2 - age_index)
    p = np.array([base[0] + shift, base[1] - shift, base[2]])
    p = np.clip(p, 0.02, None)
    return str(rng.choice([BOTH, TRADITIONAL, AI_ONLY], p=p / p.sum()))


def generate(seed: int = SEED, n: int = N_RESPONSES) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    start = dt.datetime(2026, 3, 2, 9, 15, 0)
    rows = []
    moments = np.sort(rng.uniform(0, 6 * 24 * 3600, size=n))
    # Two thirds answer the optional free-text question; each written answer is used once.
    text_rows = rng.choice(n, size=min(n, len(FREE_TEXT)), replace=False)
    text_of_row = dict(zip(text_rows, rng.permutation(FREE_TEXT)))
    other_rows = dict(zip(rng.choice(n, size=len(TYPED_OTHER), replace=False), TYPED_OTHER.items()))
    blank_yes_no = int(rng.integers(n))
    for i in range(n):
        when = start + dt.timedelta(seconds=float(moments[i]))
        stamp = when.strftime("%Y/%m/%d %I:%M:%S %p").replace(" 0", " ") + " GMT+1"
        age = int(rng.choice(len(AGES[0]), p=AGES[1]))
        answers = [
            _preference(rng, age, [0.52, 0.38, 0.10]),
            _preference(rng, age, [0.58, 0.32, 0.10]),
            _preference(rng, age, [0.40, 0.38, 0.22]),
            _preference(rng, age, [0.42, 0.40, 0.18]),
        ]
        if i in other_rows:
            col, typed = other_rows[i]
            answers[col - 1] = typed
        gender = str(rng.choice(GENDERS[0], p=GENDERS[1]))
        ethnicity = str(rng.choice(ETHNICITIES[0], p=ETHNICITIES[1]))
        wants_ai = sum(a in (BOTH, AI_ONLY) for a in answers)
        p_yes = 0.62 + 0.06 * wants_ai
        diversity = "" if i == blank_yes_no else ("Yes" if rng.random() < p_yes else "No")
        who = str(rng.choice(WHO[0], p=WHO[1]))
        text = str(text_of_row.get(i, ""))
        rows.append([stamp, *answers, gender, AGES[0][age], ethnicity, diversity, who, text])
    return rows


def write(path: Path = OUT, seed: int = SEED, n: int = N_RESPONSES) -> Path:
    rows = generate(seed, n)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")
