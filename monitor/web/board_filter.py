"""The board's ?q= filter: a site matches when its name or id holds the words typed, diacritics ignored.

A technician on a phone types "lam vy" or "lam-vy" for "Xã Lam Vỹ"; a clerk types "Lâm Vỹ"; all three match:

    folded("Xã Lam Vỹ")                     "xa lam vy"
    matches("lam-vy", "Xã Lam Vỹ", "lam vy")   True   (every word of the query, in the name or the id)
    matches("lam-vy", "Xã Lam Vỹ", "")         True   (no query: everything)
"""

from __future__ import annotations

import unicodedata

# Letters that do not decompose into a base letter and a mark (NFD leaves đ whole).
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def folded(text: str) -> str:
    """``text`` lower-cased, without diacritics, '-' and '_' read as spaces, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(bare.replace("-", " ").replace("_", " ").split())


def matches(site_id: str, name: str, query: str) -> bool:
    """Whether every word of ``query`` occurs in the site's name or id (an empty query matches every site)."""
    words = folded(query).split()
    haystack = f"{folded(name)} {folded(site_id)}"
    return all(word in haystack for word in words)
