"""Normalisation of tweets (TweetEval), applied before tokenisation."""

import html
import re

_TAG = re.compile(r"<[^>]+>")
_URL = re.compile(r"(https?://\S+|www\.\S+)")
_MENTION = re.compile(r"@\w+")
_SPACES = re.compile(r"\s+")


def clean_tweet(text: str) -> str:
    """Decode HTML entities, drop tags, mask URLs and user handles, collapse whitespace.

    Masking keeps the signal that a link or a mention was there while removing tokens
    that are unique to one tweet and only add vocabulary noise.
    """
    text = html.unescape(text)
    text = _TAG.sub(" ", text)
    text = _URL.sub("[URL]", text)
    text = _MENTION.sub("[USER]", text)
    return _SPACES.sub(" ", text).strip()
