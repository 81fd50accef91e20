"""Freshsales mapper playground: paste RudderStack events, see what reaches Freshsales, send them.

Run with ``make run`` (or ``streamlit run app.py``). The UI lives in ``playground/``.
"""

import sys
from pathlib import Path

import streamlit as st

ROOT = str(Path(__file__).resolve().parent)
if ROOT not in sys.path:  # `playground` and the package import however the app is started
    sys.path.insert(0, ROOT)

from playground import page  # noqa: E402

st.set_page_config(page_title="Freshsales mapper playground", page_icon="🔀", layout="wide")
page.render()
