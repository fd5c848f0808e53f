"""Errors that carry a message a person can act on (never a traceback)."""


class HeadcheckError(Exception):
    """Base class for errors headcheck reports to its callers."""


class ImageError(HeadcheckError):
    """The input is not an image headcheck can analyse; the message says why.

    ``kind`` lets adapters answer without parsing the message: ``empty``, ``too_large`` (bytes
    or pixels), ``not_image``, ``unsupported`` (a format we do not accept), ``corrupt`` (the
    rest).
    """

    def __init__(self, message: str, kind: str = "corrupt") -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple:  # keep the kind across process pools
        return (type(self), (str(self), self.kind))
