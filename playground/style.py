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
.fm-flow-box { container-type: inline-size; }
.fm-flow { display: grid; grid-template-columns: minmax(0, max-content) minmax(0, max-content);
  column-gap: 34px; justify-content: center; font-size: 0.78rem; line-height: 1.35; }
.fm-flow.fm-flow-large { font-size: 1.05rem; }
.fm-flow-node { grid-column: 1; justify-self: center; text-align: center; padding: 6px 12px; border-radius: 9px;
  border: 1px solid #31333f; background: #ffffff; color: #31333f; overflow-wrap: anywhere; max-width: 17em; }
.fm-flow-records { grid-column: 2; display: flex; flex-direction: column; gap: 8px; align-self: start; }
.fm-flow-record { position: relative; text-align: center; padding: 6px 14px 6px 12px; border: 1px solid #1f77b4;
  border-radius: 2px 12px 2px 2px; background: #eaf6ee; color: #31333f; overflow-wrap: anywhere; max-width: 14em; }
.fm-flow-record::before { content: "→"; position: absolute; left: -26px; top: 50%; transform: translateY(-55%);
  color: #555555; font-size: 1.1em; }
.fm-flow-record.fm-blocked::before { content: "⇢"; color: #8c8c8c; }
.fm-flow-arrow { grid-column: 1; justify-self: center; height: 22px; width: 0; border-left: 1.5px solid #555555;
  position: relative; }
.fm-flow-arrow::after { content: ""; position: absolute; bottom: -1px; left: -5.5px; border: 5px solid transparent;
  border-top: 7px solid #555555; border-bottom-width: 0; }
.fm-flow-arrow.fm-line-red { border-left-color: #d9534f; } .fm-flow-arrow.fm-line-red::after { border-top-color: #d9534f; }
.fm-flow .fm-dashed { border-style: dashed; } .fm-flow .fm-bold { border-width: 2.5px; font-weight: 600; }
.fm-flow .fm-fill-blue { background: #eef3fb; } .fm-flow .fm-fill-orange { background: #fdf1e0; }
.fm-flow .fm-fill-red { background: #fbe3e2; } .fm-flow .fm-fill-green { background: #eaf6ee; }
.fm-flow .fm-line-red { border-color: #d9534f; color: #b52b27; } .fm-flow .fm-line-green { border-color: #2e9e5b; }
.fm-flow .fm-line-grey { border-color: #8c8c8c; color: #6b6b6b; } .fm-flow .fm-line-blue { border-color: #1f77b4; }
.fm-flow-title { font-weight: 600; }
@container (max-width: 380px) {  /* too narrow for two columns: each step's records go under it, indented */
  .fm-flow { grid-template-columns: minmax(0, max-content); }
  .fm-flow-records { grid-column: 1; margin: 6px 0 0 30px; }
  .fm-flow-record::before { content: "↳"; left: -20px; }
}
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
