"""Shared fixtures: the real bundled knowledge base, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from cd38kg import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()
