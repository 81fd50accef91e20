"""The page's few CSS rules: wrapping explanation tables, status colours, and stacking when the page is narrow.

Container queries (not viewport media queries) decide when to stack, so the sidebar being open or closed
counts: what matters is the width the main column really has.
"""

from __future__ import annotations

import streamlit as st

# Keyed containers whose two columns stack when the main column is narrow.
SPLIT = "fm_stack_plan"  # field mapping | request plan
STACK_CHARTS = "fm_stack_charts"  # failures by reason | outcome chart

CSS = """
<style>
.fm-table { width: 100%; table-layout: fixed; border-collapse: collapse; font-size: 0.86rem; line-height: 1.35; }
.fm-table th { text-align: left; font-weight: 600; border-bottom: 2px solid rgba(128,128,128,.35); padding: 4px 6px; }
.fm-table td { vertical-align: top; padding: 4px 6px; border-bottom: 1px solid rgba(128,128,128,.18);
  overflow-wrap: anywhere; word-break: break-word; white-space: normal; }
.fm-table code { font-size: 0.82rem; white-space: normal; overflow-wrap: anywhere; padding: 0 2px; }
.fm-table col.fm-c1 { width: 26%; } .fm-table col.fm-c2 { width: 28%; } .fm-table col.fm-c3 { width: 46%; }
.fm-value { font-family: "Source Code Pro", monospace; font-size: 0.8rem; }
.fm-badge { display: inline-block; font-size: 0.72rem; font-weight: 600; border-radius: 8px; padding: 0 6px;
  margin-left: 2px; white-space: nowrap; }
.fm-badge.fm-bad { background: #fde2e1; color: #a4261f; } .fm-badge.fm-warn { background: #fdf0d5; color: #8a5a00; }
.fm-badge.fm-ok { background: #ddf3e4; color: #1b6e3a; } .fm-badge.fm-info { background: #e3ecfa; color: #264f8f; }
.fm-badge.fm-none { background: #eeeeee; color: #555555; }
.fm-row.fm-bad td { background: rgba(253,226,225,.45); } .fm-row.fm-warn td { background: rgba(253,240,213,.45); }
.fm-row.fm-none td { color: #6b6b6b; }
.fm-hint { margin-top: 3px; padding: 2px 6px; border-left: 3px solid #e0a100; background: rgba(253,240,213,.6);
  color: #5c3d00; }
.fm-cards { display: flex; flex-wrap: wrap; gap: 12px; }
.fm-card { flex: 1 1 240px; min-width: 0; max-width: 100%; border: 1px solid rgba(128,128,128,.35);
  border-radius: 10px; padding: 10px 14px; background: rgba(227,236,250,.35); }
.fm-card.fm-stored { border-color: #2e9e5b; background: rgba(221,243,228,.45); }
.fm-card-kind { font-size: 0.78rem; opacity: .75; }
.fm-card-name { font-size: 1.15rem; font-weight: 600; overflow-wrap: anywhere; margin: 2px 0 6px; }
.fm-card-row { display: flex; gap: 8px; font-size: 0.9rem; line-height: 1.35; padding: 1px 0; }
.fm-card-label { flex: 0 0 7.5em; opacity: .7; }
.fm-card-value { flex: 1 1 auto; min-width: 0; overflow-wrap: anywhere; }
.fm-assigned { font-style: italic; color: #8a5a00; }
.fm-compact .fm-card { flex-basis: 200px; padding: 6px 10px; } .fm-compact .fm-card-name { font-size: 1rem; }
[data-testid="stGraphVizChart"] svg { max-width: 100%; height: auto; }  /* a wide picture shrinks, never scrolls */
[class*="st-key-fm_presenter"] { font-size: 1.25rem; }
[class*="st-key-fm_presenter"] [data-testid="stAlert"] p, [class*="st-key-fm_presenter"] [data-testid="stText"] { font-size: 1.35rem; }
[class*="st-key-fm_presenter"] .fm-card { flex-basis: 300px; padding: 14px 18px; }
[class*="st-key-fm_presenter"] .fm-card-kind { font-size: 1rem; }
[class*="st-key-fm_presenter"] .fm-card-name { font-size: 1.7rem; }
[class*="st-key-fm_presenter"] .fm-card-row { font-size: 1.2rem; }
[class*="st-key-fm_presenter"] [data-testid="stCaptionContainer"] { font-size: 1rem; }
[class*="st-key-fm_stack"] { container-type: inline-size; }
@container (max-width: 900px) {
  [class*="st-key-fm_stack"] div[data-testid="stHorizontalBlock"] { flex-direction: column; }
  [class*="st-key-fm_stack"] div[data-testid="stColumn"] { width: 100% !important; flex: 1 1 auto !important;
    min-width: 0; }
}
</style>
"""


def inject() -> None:
    st.html(CSS)
