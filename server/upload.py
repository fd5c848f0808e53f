"""The image of a lookup, sent as the raw body or as multipart/form-data."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from .schemas import MAX_NAME, HttpUrlText, ProfileName

RAW_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff",
             "image/avif", "application/octet-stream")
_url = TypeAdapter(HttpUrlText | None)
_name = TypeAdapter(ProfileName | None)

# Published in /openapi.json: the body is read by hand because it may come in either form.
OPENAPI_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    **{t: {"schema": {"type": "string", "format": "binary"}} for t in RAW_TYPES},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["image"],
        "properties": {"image": {"type": "string", "format": "binary"},
                       "page_url": {"type": "string", "format": "uri", "maxLength": 2048},
                       "image_url": {"type": "string", "format": "uri", "maxLength": 2048},
                       "name": {"type": "string", "maxLength": MAX_NAME}}}},
}}}


def _form_field(form: Any, name: str, default: str | None,
                kind: TypeAdapter = _url) -> str | None:
    values = form.getlist(name)
    if not values:
        return default
    if len(values) > 1 or not isinstance(values[0], str):
        raise RequestValidationError([{"loc": ("body", name), "type": "value_error",
                                       "msg": f"give {name} once, as text"}])
    try:
        return kind.validate_python(values[0])
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", name)} for e in exc.errors()]) from None


async def read_upload(request: Request, page_url: str | None, image_url: str | None,
                      max_bytes: int, name: str | None = None
                      ) -> tuple[bytes, str | None, str | None, str | None]:
    """(image bytes, page_url, image_url, name); form fields win over query parameters."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=5, max_part_size=max_bytes) as form:
            part = form.get("image")
            if not isinstance(part, UploadFile):
                raise HTTPException(422, "the multipart body needs a file field named 'image'")
            data = await part.read()
            page_url = _form_field(form, "page_url", page_url)
            image_url = _form_field(form, "image_url", image_url)
            name = _form_field(form, "name", name, _name)
        return data, page_url, image_url, name or None
    if media.endswith("+xml"):  # SVG: a document with scripts and links, never a photo
        raise HTTPException(415, f"{media} is a vector document, not a photo: send the image "
                                 "as a raster format (JPEG, PNG, WebP...)")
    if media.startswith("image/") or media == "application/octet-stream":
        return await request.body(), page_url, image_url, name or None
    raise HTTPException(415, "send the image as the raw body (image/* or "
                             "application/octet-stream) or as multipart/form-data with a file "
                             f"field 'image', not {media or 'no content type'}")
