"""Validate real API responses against the OpenAPI document the server publishes."""
from __future__ import annotations

from jsonschema import Draft202012Validator


class Contract:
    def __init__(self, document: dict):
        self.doc = document
        self.seen: set[tuple[str, str, int]] = set()

    def check(self, path: str, method: str, response) -> dict:
        """Assert the status is documented for the operation and the body fits its schema."""
        operation = self.doc["paths"][path][method]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method.upper()} {path}: {status} not documented"
        spec = operation["responses"][status]
        media = next(iter(spec["content"]))
        assert response.mimetype == media, (response.mimetype, media)
        body = response.get_json()
        schema = {**spec["content"][media]["schema"], "components": self.doc["components"]}
        Draft202012Validator(schema).validate(body)
        self.seen.add((path, method, response.status_code))
        return body
