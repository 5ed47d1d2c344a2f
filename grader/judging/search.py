"""Running hypothesis from the trusted side, reproducibly.

Each item gets its own seed, no example database and no deadline, so the
same submission always sees the same inputs. Hypothesis also mixes into its
draws the literals of the "local" modules loaded so far (the grader itself
when installed editable, a reference package once imported): which those are
depends on the process's history and the installation, so the grader's draws
leave them out (``_without_local_constants``) and use hypothesis's own. A test that never fails sees
exactly the examples any later run sees up to its first failure; the engine
relies on that to stream a whole item's calls first and to shrink only
where something failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections.abc import Callable, Iterator

from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from ..observe.case import Case

__all__ = ["find", "item_seed", "reject", "run_examples"]


def item_seed(base: int, item_id: str) -> int:
    digest = hashlib.sha256(f"{base}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def run_examples(
    strategy: st.SearchStrategy[Case],
    test: Callable[[Case], None],
    *,
    max_examples: int,
    seed: int,
) -> BaseException | None:
    """Runs ``test`` on generated cases; returns what the (shrunk) failure raised."""

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )
    @hypothesis_seed(seed)
    @given(strategy)
    def runner(case: Case) -> None:
        test(case)

    with warnings.catch_warnings(), _without_local_constants():
        warnings.simplefilter("ignore")
        try:
            runner()
        except Unsatisfiable:
            return None  # the domain has fewer distinct inputs than asked for: all were tried
        except Exception as exc:  # the test's own signal, or hypothesis's
            return exc
    return None


@contextlib.contextmanager
def _without_local_constants() -> Iterator[None]:
    """Hypothesis's draws without the constants of the modules this process happens to have loaded.

    Its internals (``hypothesis.internal.conjecture.providers``, 6.1xx): where they are not as expected, the
    draws go on with them, as before.
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants

        original, cache = providers._get_local_constants, providers.CONSTANTS_CACHE.cache
    except (ImportError, AttributeError):
        yield
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty
    cache.clear()  # allowed constants computed with the local ones
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.clear()


def find(exc: BaseException | None, kind: type[BaseException]) -> BaseException | None:
    """The first exception of ``kind`` in ``exc`` or in its groups and causes."""
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        stack.extend(getattr(current, "exceptions", ()) or ())
        stack.append(current.__cause__)
        stack.append(current.__context__)
    return None
