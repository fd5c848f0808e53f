"""The relations verification can establish between two photos. The judge reads them and
``match.decide`` names them; kept in this light module so the judge imports no models, index or
store."""

from __future__ import annotations

SAME_PHOTO = "same_photo"  # the same pixels (a copy, resize, crop, recompression or mirror)
SAME_CONTEXT = "same_context"  # the same body and backdrop under another person's face
RELATIONS = (SAME_PHOTO, SAME_CONTEXT)
