"""Readers of raw text files: `core` (decoding, sniffing, JSONL records; shared with scoring's streaming
reader) and `frames` (a whole source into a DataFrame of strings, for prepare and evaluate)."""

from toolkit.data.readers.core import SUFFIX_FORMATS, SourceReport, decode_bytes, sniff_delimiter
from toolkit.data.readers.frames import detect_format, read_source

__all__ = ["SUFFIX_FORMATS", "SourceReport", "decode_bytes", "detect_format", "read_source", "sniff_delimiter"]
