"""The official documents the fakes check against: loaded untouched, corrected in memory
where PagerDuty's is broken, and strict enough that a wrong request fails a test."""

from __future__ import annotations

import hashlib
import json

import aiohttp
from openapi_spec_validator.validation.validators import OpenAPIV30SpecValidator

from tests.conftest import provider_fake
from tests.fakes.specs import FILES, FIXES, document

# From ../shared/specs/SOURCES.md: the files are byte-for-byte the upstream ones.
SHA256 = {
    "incidentio": "cf61e03a801e7c2574b792249917ee90d3d0151159c49a87011e16f2981c75a5",
    "pagerduty": "b2e80f8b83b170f29702e96a69adf230702b4ec43dddab7e348a2985c707ef35",
    "firehydrant": "ffd3a55323c72b48895c97445e3181f9ec81725c5988b561db7a5efbad87d68a",
}


def test_the_spec_files_are_the_upstream_ones() -> None:
    for provider, path in FILES.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[provider], provider


def test_pagerdutys_document_is_corrected_in_memory_and_then_passes_strict_validation() -> None:
    raw_errors = list(OpenAPIV30SpecValidator(json.loads(FILES["pagerduty"].read_text())).iter_errors())
    assert raw_errors, "the file as published fails strict validation"
    corrected = document("pagerduty")
    assert any("20 - incident_summary" in fix for fix in FIXES["pagerduty"])
    assert list(OpenAPIV30SpecValidator(corrected).iter_errors()) == []
    assert hashlib.sha256(FILES["pagerduty"].read_bytes()).hexdigest() == SHA256["pagerduty"]


async def test_a_request_the_spec_rejects_is_caught() -> None:
    """A write without PagerDuty's required From header, and an incident.io create without
    its required idempotency key, are both recorded as violations."""
    async with aiohttp.ClientSession() as session:
        for provider, method, path, body, headers in [
            (
                "pagerduty",
                "PUT",
                "/incidents/PX",
                {"incident": {"type": "incident_reference", "status": "resolved"}},
                {
                    "Accept": "application/vnd.pagerduty+json;version=2",
                    "Content-Type": "application/json",
                    "Authorization": "Token token=x",
                },
            ),
            (
                "incidentio",
                "POST",
                "/v2/incidents",
                {"name": "x", "visibility": "public"},
                {"Authorization": "Bearer x"},
            ),
        ]:
            try:
                async with provider_fake(provider) as fake:
                    async with session.request(
                        method, fake.url + path, json=body, headers=headers
                    ) as response:
                        assert response.status == 400
                    assert fake.violations and fake.writes()
            except AssertionError as exc:
                assert "official spec rejects" in str(exc), exc
            else:
                raise AssertionError(f"{provider}: the bad request went unnoticed")
