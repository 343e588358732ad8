"""URLs: requested as linked; the canonical form is only the archive's key, and never changes an opaque token."""

from __future__ import annotations

import pytest

from crawler.links import as_linked, canonical

BARE = "https://b.cmis.uk.com/birmingham/Document.ashx?czJKcaeAi5tUFL1DTL2UE4sOqCLHzE2A"
TOKENS = ("https://c.cmis.uk.com/CMIS5/Document.ashx?czJKcaeAi5tUFL1DTL2UE4zNRBcoShgo=T%2bQkqSmXVp%3d%3d"
          "&rUzwRPf%2bZ3zd4E7Ikn8Lyw%3d%3d=pwRE6AGJFLDN%3d%3d")


@pytest.mark.parametrize("url", [BARE, TOKENS])
def test_opaque_cmis_tokens_keep_their_form_in_the_key_and_the_request(url: str) -> None:
    assert canonical(url) == url  # no "=" after a bare token, no reordering, no re-escaping
    assert as_linked(url) == url
    assert canonical(url + "#top") == url


def test_ordinary_queries_are_sorted_in_the_key_but_requested_as_linked() -> None:
    url = "https://democracy.example.gov.uk/ieListMeetings.aspx?CId=3&Act=earlier&D=201901010000#x"
    assert canonical(url) == "https://democracy.example.gov.uk/ieListMeetings.aspx?Act=earlier&CId=3&D=201901010000"
    assert as_linked(url) == "https://democracy.example.gov.uk/ieListMeetings.aspx?CId=3&Act=earlier&D=201901010000"
    assert canonical("HTTPS://Example.ORG/a b?q=1") == "https://example.org/a%20b?q=1"


def test_the_key_is_stable() -> None:
    for url in (BARE, TOKENS, "https://example.org/p?b=2&a=1", "https://example.org/x?flag&a=1"):
        assert canonical(canonical(url)) == canonical(url)
