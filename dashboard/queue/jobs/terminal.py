"""Text from payloads and errors made safe for a terminal or a log file.

An error message is built from whatever an external API or a payload held. Printed raw, an
ESC or CSI sequence (``\\x1b[2J``, ``\\x9b``), an OSC sequence (a window title, a link)
or a bidi override (which shows text in another order than it is stored) acts on the
operator's terminal instead of being read. These are written as escapes instead.
"""

from __future__ import annotations

import re

#: Characters that change how the text around them is shown: bidi embeddings, overrides
#: and isolates, and the marks that steer them.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: Every C0 control but tab and line feed, DEL, every C1 control, the line and paragraph
#: separators, and the bidi controls.
_UNSAFE = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029{BIDI_CONTROLS}]")
_UNSAFE_IN_A_LINE = re.compile(f"[\\t\\n]|{_UNSAFE.pattern}")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with its control characters written as escapes (``\\x1b``, ``\\u202e``);
    line breaks and tabs kept, unless ``one_line``."""
    return (_UNSAFE_IN_A_LINE if one_line else _UNSAFE).sub(_escape, text)


def printable_json(text: str) -> str:
    """JSON text whose strings hold no raw control character: each is written as the
    JSON escape ``\\uXXXX``, so the document means the same once parsed."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def has_unsafe(text: str) -> bool:
    """Whether ``text`` holds a character ``printable`` would escape (line breaks too)."""
    return _UNSAFE_IN_A_LINE.search(text) is not None
