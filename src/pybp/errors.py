"""Exceptions raised by pybp."""

__all__ = ["FormatError"]


class FormatError(ValueError):
    """A model or data file (or a dict from ``Network.to_dict``) is malformed.

    Raised by ``pybp.load``, ``pybp.io.read_safetensors``, the FANN readers
    and ``Network.from_dict``; the message says what is wrong.  It is a
    ``ValueError``, so ``except ValueError`` catches it too.  A missing or
    unreadable file raises the usual ``OSError`` instead.
    """
