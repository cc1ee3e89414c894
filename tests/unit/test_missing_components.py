"""A test that needs a component the machine lacks fails and names it; it never skips."""

from __future__ import annotations

from pathlib import Path

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]


def test_a_test_needing_mosquitto_fails_naming_it_when_it_is_missing(pytester, monkeypatch):
    pytester.makeconftest('''
        import pytest
        import tests.fixtures.broker

        pytest_plugins = ["tests.fixtures.broker"]


        @pytest.fixture(autouse=True, scope="session")
        def no_mosquitto_anywhere():
            tests.fixtures.broker._SEARCH = ()
    ''')
    pytester.makepyfile(test_needs_a_broker='''
        def test_uses_the_broker(mosquitto):
            pass
    ''')
    monkeypatch.setenv("PATH", str(pytester.path))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Mosquitto is not installed*apt-get install -y mosquitto*"])
