"""Where events come in: the paste area, a file upload, and the sample picker; then what could not be read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from freshsales_mapper.inputs import InputError, ParsedInput

from . import state
from .display import LONE_SURROGATE, markdown_literal
from .pipeline import decode_upload, digest, parse_input

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "sample_events"
SAMPLE_SUFFIXES = (".json", ".ndjson", ".jsonl", ".csv")
UPLOAD_TYPES = ["json", "ndjson", "jsonl", "csv"]
ERRORS_LISTED = 20
TEXT_BOX = "the text box"
PLACEHOLDER = """Paste RudderStack events here, e.g.
{"type": "identify", "traits": {"email": "amara@example.com", "firstName": "Amara"}}

Accepted: one event, a JSON array of events, NDJSON (one event per line), or RudderStack's
processor request body ({message, destination, metadata}, one or an array)."""


@dataclass
class InputBundle:
    parsed: ParsedInput
    source: str  # "the text box", "upload contacts.csv"
    key: str  # identifies the input's content, for the memo
    text: str  # the text that was parsed (for pointing at a bad line)


def sample_files() -> list[str]:
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(p.name for p in SAMPLES_DIR.iterdir() if p.suffix in SAMPLE_SUFFIXES and p.is_file())


def sample_descriptions() -> dict[str, str]:
    """What each sample shows, from the table in ``sample_events/README.md`` (empty if it has none)."""
    readme = SAMPLES_DIR / "README.md"
    if not readme.is_file():
        return {}
    found = {}
    for match in re.finditer(r"^\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*$", readme.read_text(encoding="utf-8"), re.M):
        found[match.group(1)] = match.group(2)
    return found


def load_sample(name: str) -> str:
    path = SAMPLES_DIR / name
    if path.parent != SAMPLES_DIR or not path.is_file():
        raise ValueError(f"no sample named {name!r}")
    return path.read_text(encoding="utf-8-sig")


def _on_sample_picked() -> None:
    name = st.session_state.get(state.SAMPLE_PICK)
    if not name:
        return
    st.session_state[state.EVENTS_INPUT] = load_sample(name)
    st.session_state[state.LOADED_SAMPLE] = name
    st.session_state[state.SAMPLE_PICK] = None  # ready to load the same sample again later


EXAMPLE = "identify.json"


def _try_example() -> None:
    st.session_state[state.EVENTS_INPUT] = load_sample(EXAMPLE)
    st.session_state[state.LOADED_SAMPLE] = EXAMPLE


def render() -> InputBundle:
    st.subheader("1 · Events")
    left, right = st.columns([3, 2], gap="medium")
    with right:
        st.selectbox("Load a sample", sample_files(), index=None, key=state.SAMPLE_PICK,
                     placeholder="Choose a file from sample_events/ …", on_change=_on_sample_picked,
                     help="Fills the text box with the file; edit it freely afterwards.")
        loaded = state.get(state.LOADED_SAMPLE)
        if loaded:
            description = sample_descriptions().get(loaded, "")
            st.caption(f"Loaded **{loaded}**" + (f": {description}" if description else ""))
        upload = st.file_uploader("…or upload a file", type=UPLOAD_TYPES, key=state.UPLOAD,
                                  help="JSON, NDJSON (.ndjson/.jsonl) or CSV with dotted column names "
                                       "(traits.email becomes {\"traits\": {\"email\": …}}).")
    with left:
        text = st.text_area("Events (JSON, NDJSON or a processor request body)", key=state.EVENTS_INPUT,
                            height=300, placeholder=PLACEHOLDER)
        if not (text or "").strip() and upload is None:
            st.button("Try an example", key=state.TRY_EXAMPLE, type="primary", icon=":material/play_arrow:",
                      on_click=_try_example, help="Fills the box with a typical identify event and maps it.")
    if upload is not None:
        bundle = _from_upload(upload)
        st.info(f"Showing the uploaded file **{markdown_literal(upload.name)}**; remove it to go back to the text box.")
    else:
        bundle = state.memo("parse", digest(text or ""), lambda: InputBundle(
            parse_input(text or "", "input"), TEXT_BOX, digest(text or ""), text or ""))
    _report(bundle)
    return bundle


def _from_upload(upload: UploadedFile) -> InputBundle:
    def read() -> InputBundle:
        data = upload.getvalue()
        key = digest(data) + ":" + upload.name
        text, problem = decode_upload(data, upload.name)
        if problem is not None:
            return InputBundle(ParsedInput([], [problem], "empty", upload.name), f"upload {upload.name}", key, "")
        return InputBundle(parse_input(text, upload.name), f"upload {upload.name}", key, text)

    return state.memo("upload", (upload.file_id, upload.name, upload.size), read)


def _report(bundle: InputBundle) -> None:
    parsed = bundle.parsed
    items, errors = parsed.items, parsed.errors
    if not items and not errors:
        st.caption("Nothing to map yet: paste a RudderStack event (or many), load a sample or upload a file, or "
                   "click **Try an example**. The page then shows, for every Freshsales field, the value sent "
                   "and why.")
        return
    what = {"object": "one JSON document", "array": "a JSON array", "ndjson": "NDJSON", "csv": "CSV"}
    summary = f"Read **{len(items)}** event(s) from {what.get(parsed.format, parsed.format)} in {markdown_literal(bundle.source)}"
    if errors:
        summary += f"; **{len(errors)}** part(s) could not be read and are listed below"
        summary += " (the readable events are still mapped)." if items else "."
    st.caption(summary)
    for problem in errors[:ERRORS_LISTED]:
        st.error(markdown_literal(_describe(problem)), icon=":material/block:")
        excerpt = _excerpt(bundle.text, problem)
        if excerpt:
            st.code(excerpt, language=None)
    if len(errors) > ERRORS_LISTED:
        st.error(f"… and {len(errors) - ERRORS_LISTED} more; every one is a row with status "
                 "`unreadable` in the events table.", icon=":material/block:")


def _describe(problem: InputError) -> str:
    if problem.line is not None and problem.column is not None:
        where = f"Invalid JSON at line {problem.line}, column {problem.column}"
    elif problem.line is not None:
        where = f"Line {problem.line}"
    else:
        where = problem.location or "Input"
    if problem.path and problem.path != "$":
        where += f" (at `{problem.path}`)"
    return f"**{where}:** {problem.message}"


def _excerpt(text: str, problem: InputError) -> str:
    """The offending line with a caret under the column (clipped around it for very long lines)."""
    if problem.line is None or problem.column is None or not text:
        return ""
    lines = text.split("\n")
    if not 0 < problem.line <= len(lines):
        return ""
    line = lines[problem.line - 1]
    start = max(0, problem.column - 60)
    shown = line[start:start + 120]
    prefix = "…" if start else ""
    caret = " " * (len(prefix) + problem.column - 1 - start) + "^"
    # One character for one: a byte that is not UTF-8 shows as U+FFFD and the caret stays under it.
    return f"{prefix}{LONE_SURROGATE.sub(chr(0xFFFD), shown)}\n{caret}"
