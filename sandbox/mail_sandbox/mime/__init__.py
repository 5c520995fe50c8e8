"""Reading captured mail: one set of MIME rules for the list, the search index and the view.

``tree`` turns bytes into a message tree, ``headers`` turns header values into text, ``parts``
says which leaves are text, inline parts or attachments, ``html_text`` finds the words an HTML
body shows, and ``view`` builds the full view of one message. The summary the store keeps
(``mail_sandbox.store.parse``) reads through the same modules, so the list and the message
cannot disagree about what a message holds.
"""

from __future__ import annotations

from mail_sandbox.mime.view import MessageView, PartInfo, get_part, parse_message

__all__ = ["MessageView", "PartInfo", "get_part", "parse_message"]
