"""The package as another project gets it: `pip install <checkout>` into a fresh virtualenv."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis",
                                     "build", "dist", "*.egg-info", "*.journal.jsonl")


def first_python_example() -> str:
    return re.search(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text("utf-8"), re.S | re.M).group(1)


@pytest.mark.slow
def test_pip_install_gives_the_library_the_console_script_and_its_data(tmp_path):
    # pip builds in the source folder; a copy keeps build/ and *.egg-info out of the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python, script = venv / "bin" / "python", venv / "bin" / "freshsales-mapper"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
                             capture_output=True, text=True, timeout=900, env=env)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"  # not the checkout: what is imported must be the installed copy
    elsewhere.mkdir()

    def run(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(argv), cwd=elsewhere, input=stdin, capture_output=True, text=True, timeout=300,
                              env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    where = run(str(python), "-c", "import freshsales_mapper, importlib.util as u; print(freshsales_mapper.__file__);"
                "print(u.find_spec('streamlit') is None, u.find_spec('pandas') is None, u.find_spec('playground') is None)"
                ).stdout.split()
    assert where[0].startswith(str(venv))
    assert where[1:] == ["True", "True", "True"]  # the playground is not in the wheel, its deps are an extra
    assert "transform" in run(str(script), "--help").stdout
    assert "--reveal-key" in run(str(script), "transform", "--help").stdout
    event = json.dumps({"type": "identify", "traits": {"email": "ada@example.com"}})
    items = json.loads(run(str(script), "transform", "--domain", "acme.myfreshworks.com", "--api-key", "key-1234567890ab",
                           stdin=event).stdout)
    assert items[0]["output"]["endpoint"] == "https://acme.myfreshworks.com/crm/sales/api/contacts/upsert"
    assert items[0]["output"]["headers"]["Authorization"] == "Token token=****90ab"
    example = run(str(python), "-", stdin=first_python_example()).stdout
    assert "POST https://acme.myfreshworks.com/crm/sales/api/contacts/upsert" in example and "****1234" in example
    # The event schema is package data too: shape checks need it.
    shape = run(str(python), "-c", "from freshsales_mapper.inputs import validate_event; "
                "print(validate_event({'type': 'identify', 'traits': 'x'}))").stdout
    assert "traits" in shape
    # CSV input needs the extra; without it the error says which.
    csv = subprocess.run([str(python), "-c", "from freshsales_mapper.inputs import parse_csv_text; "
                          "parse_csv_text('type\\nidentify\\n')"], cwd=elsewhere, capture_output=True, text=True,
                         timeout=300, env=env)
    assert csv.returncode == 1 and "pip install 'freshsales-mapper[csv]'" in csv.stderr
