"""Text from the user's data shown literally in Streamlit's Markdown.

``st.markdown``, ``st.write``, ``st.caption``, ``st.error`` and the other text
elements read their text as Markdown, with LaTeX between dollar signs: a column
named ``Annual Income (k$)`` next to ``Spend (k$)`` would turn the text between them
into a formula, and ``*``, ``_``, ``#``, ``[...](...)`` or ``<`` in a name or a
playbook text would format it. Every value from the data or the playbook goes
through :func:`md` before it is put into such text (Streamlit renders no raw HTML,
so this is about showing names as written, not about scripts).
"""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation; these are the characters that
# format text inside a line in Streamlit's Markdown: emphasis and code, links, HTML-like
# tags, $ for its LaTeX, ~ for strikes, | for tables, : for its :emoji: and :red[colours].
_SPECIAL = re.compile(r"([\\`*_\[\]<>$~|:])")


def md(text: object) -> str:
    r"""``text`` with every Markdown-special character escaped, so it shows as written.

    Examples
    --------
    >>> md("Income (k$) / Spend (k$)")
    'Income (k\\$) / Spend (k\\$)'
    >>> md("**bold** _x_ [link](u) :red[x]")
    '\\*\\*bold\\*\\* \\_x\\_ \\[link\\](u) \\:red\\[x\\]'
    """
    return _SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")
