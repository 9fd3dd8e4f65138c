"""mkdocs hook: the docstrings' Sphinx roles (:class:`X`, :func:`~a.b.f`) as plain code in the site."""

import re

_ROLE = re.compile(r":(?:class|func|mod|meth|attr|data|exc|obj):(<code>)")
_TILDE = re.compile(r"<code>~(?:[\w]+\.)*([\w]+)</code>")


def on_page_content(html, **kwargs):
    return _TILDE.sub(r"<code>\1</code>", _ROLE.sub(r"\1", html))
