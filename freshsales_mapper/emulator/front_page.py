"""What a person sees who opens the emulator's address in a browser (the playground shows it as a link).

Not a 401 JSON: a page that says what this server is, how much it holds, and how to see the records. It
shows no record: the API (and the playground's "Records in the sandbox") needs the session's key.
"""

from __future__ import annotations

import html


def front_page(base_url: str, contacts: int, accounts: int, activities: int) -> str:
    url = html.escape(base_url)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Freshsales emulator</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em;color:#222}}
code{{background:#f3f3f3;padding:.1em .3em}}td{{padding:.2em 1em .2em 0}}</style></head>
<body><h1>Freshsales emulator</h1>
<p>A local stand-in for the Freshsales CRM API at <code>{url}</code>, run by the Freshsales mapper
(the playground's Sandbox, or <code>freshsales-mapper emulator</code>). Nothing sent here leaves this
machine.</p>
<table><tr><td>contacts</td><td>{contacts}</td></tr><tr><td>sales accounts</td><td>{accounts}</td></tr>
<tr><td>sales activities</td><td>{activities}</td></tr></table>
<p>The records themselves are shown in the playground under <b>Records in the sandbox</b>. The API, under
<code>{url}/crm/sales/api/</code>, answers only requests with this emulator's key
(<code>Authorization: Token token=…</code>), as Freshsales does.</p>
</body></html>
"""
