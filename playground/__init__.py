"""The Streamlit playground's UI modules (``app.py`` calls them; ``freshsales_mapper`` never imports them).

``pipeline``, ``display``, ``tables`` and ``downloads`` are plain Python (no Streamlit) so that tests and
benchmarks can use them directly; the ``*_panel`` / ``*_view`` modules draw the page.
"""
