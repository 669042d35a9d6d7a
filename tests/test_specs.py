"""The official documents the fakes check against: loaded untouched, corrected in memory
where PagerDuty's is broken, and strict enough that a wrong request fails a test."""

from __future__ import annotations

import hashlib
import json
import re

import aiohttp
from openapi_spec_validator.validation.validators import OpenAPIV30SpecValidator

from tests.conftest import provider_fake
from tests.fakes.specs import FILES, FIXES, SPECS, document, read_spec

# Upstream's sha256 of the three documents, as their publishers' files hash (SOURCES.md says where).
SHA256 = {
    "incidentio": "cf61e03a801e7c2574b792249917ee90d3d0151159c49a87011e16f2981c75a5",
    "pagerduty": "b2e80f8b83b170f29702e96a69adf230702b4ec43dddab7e348a2985c707ef35",
    "firehydrant": "ffd3a55323c72b48895c97445e3181f9ec81725c5988b561db7a5efbad87d68a",
}


def _recorded() -> dict[str, str]:
    text = (SPECS / "SOURCES.md").read_text()
    return {path: digest for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", text, re.M)}


def test_vendored_specs_match_their_recorded_sha256() -> None:
    """Every file under tests/specs/ is listed in SOURCES.md and hashes (uncompressed) as recorded."""
    recorded = _recorded()
    on_disk = {str(p.relative_to(SPECS)) for p in SPECS.rglob("*") if p.is_file() and p.suffix != ".md"}
    assert on_disk == set(recorded), on_disk ^ set(recorded)
    for name, digest in recorded.items():
        assert hashlib.sha256(read_spec(SPECS / name)).hexdigest() == digest, name


def test_the_spec_files_are_the_upstream_ones() -> None:
    for provider, path in FILES.items():
        assert hashlib.sha256(read_spec(path)).hexdigest() == SHA256[provider], provider


def test_pagerdutys_document_is_corrected_in_memory_and_then_passes_strict_validation() -> None:
    raw_errors = list(OpenAPIV30SpecValidator(json.loads(read_spec(FILES["pagerduty"]))).iter_errors())
    assert raw_errors, "the file as published fails strict validation"
    corrected = document("pagerduty")
    assert any("20 - incident_summary" in fix for fix in FIXES["pagerduty"])
    assert list(OpenAPIV30SpecValidator(corrected).iter_errors()) == []
    assert hashlib.sha256(read_spec(FILES["pagerduty"])).hexdigest() == SHA256["pagerduty"]


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
