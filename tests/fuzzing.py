"""What the property tests share: Hypothesis settings, mutated real files, and the one rule
they check, that bad input ends in a single-sentence UserError and nothing else."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from cnnlab.errors import UserError

QUICK = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the directory is reused
)


@st.composite
def mutated(draw, data: bytes, near: tuple[int, int] = (20, 200)) -> bytes:
    """`data` with some bytes flipped (mostly within the first `near` bytes, where the headers
    are), then perhaps cut short or extended."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, min(len(out) - 1, draw(st.sampled_from([*near, len(out)])))))
        out[at] ^= draw(st.integers(1, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(out))))
    if cut is not None:
        out = out[:cut]
    return bytes(out) + draw(st.binary(max_size=draw(st.sampled_from([0, 8, 64]))))


def outcome(call: Callable[[], object]) -> str:
    """ "accepted", or "refused" when `call` raised a UserError of one sentence; any other
    exception propagates and fails the test."""
    try:
        call()
    except UserError as err:
        message = str(err)
        assert message.strip(), "an empty error message"
        assert "\n" not in message, message
        assert "Traceback" not in message, message
        return "refused"
    return "accepted"
