"""Open311 Service Discovery (wiki.open311.org/Service_Discovery): where a client starts, in JSON and XML."""

import hashlib
import json

from lapor import open311 as mapping
from lapor.domain import reference
from test_open311 import open311 as open311  # noqa: F401 (the fixture)
from test_open311_mapping import validate

# No discovery schema is published with the community's; this one is the Service Discovery page's text.
DISCOVERY_SCHEMA = {
    "type": "object", "required": ["changeset", "contact", "key_service", "endpoints"],
    "additionalProperties": False,
    "properties": {
        "changeset": {"type": "string", "format": "date-time"}, "contact": {"type": "string", "minLength": 1},
        "key_service": {"type": "string", "minLength": 1},
        "endpoints": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["specification", "url", "changeset", "type", "formats"],
            "additionalProperties": False,
            "properties": {"specification": {"type": "string", "format": "uri"}, "url": {"type": "string"},
                           "changeset": {"type": "string", "format": "date-time"},
                           "type": {"enum": ["production", "test"]},
                           "formats": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}}}}


def test_discovery_in_json_and_xml_names_the_georeport_v2_endpoint(open311):
    status, document, content_type = open311("GET", "discovery")
    assert status == 200 and content_type.startswith("application/json")
    validate(document, DISCOVERY_SCHEMA)
    [endpoint] = document["endpoints"]
    assert endpoint == {"specification": "http://wiki.open311.org/GeoReport_v2",
                        "url": "http://localhost/open311/v2", "changeset": mapping.CHANGESET,
                        "type": "production", "formats": ["text/xml", "application/json"]}
    assert document["key_service"] and document["contact"]

    status, xml, content_type = open311("GET", "discovery", "xml")
    assert status == 200 and content_type.startswith("text/xml") and xml.tag == "discovery"
    assert [child.tag for child in xml] == ["changeset", "contact", "key_service", "endpoints"]
    [element] = xml.findall("endpoints/endpoint")
    assert element.findtext("specification") == endpoint["specification"]
    assert element.findtext("url") == endpoint["url"]
    assert [f.text for f in element.findall("formats/format")] == ["text/xml", "application/json"]


def test_the_configured_url_and_contact_are_served(open311, monkeypatch):
    from lapor.settings import get_settings

    monkeypatch.setenv("LAPOR_OPEN311_URL", "https://lapor.example.id/open311/v2/")
    monkeypatch.setenv("LAPOR_OPEN311_CONTACT", "open311@lapor.example.id")
    get_settings.cache_clear()
    try:
        _, document, _ = open311("GET", "discovery")
    finally:
        get_settings.cache_clear()
    assert document["endpoints"][0]["url"] == "https://lapor.example.id/open311/v2"
    assert document["contact"] == "open311@lapor.example.id"


def test_the_changeset_moves_with_the_services():
    """Clients cache services and definitions until the changeset moves: changing them means moving it."""
    documents = [mapping.services()] + [mapping.service_definition(c, "64")
                                        for c in reference.categories().values()]
    digest = hashlib.sha256(json.dumps(documents, sort_keys=True).encode()).hexdigest()[:16]
    assert (digest, mapping.CHANGESET) == (PINNED, "2026-11-30T00:00:00Z"), (
        f"services changed (digest {digest}): move open311.CHANGESET to now and pin both here")


PINNED = "0fc026bb2f2a23bb"
