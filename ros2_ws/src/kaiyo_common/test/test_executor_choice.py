"""Tier 1: KAIYO_EXECUTOR, the executor a kaiyo process spins (no ROS)."""
import pytest

from kaiyo_common.executor_choice import (
    EXECUTOR_ENV,
    ExecutorChoiceError,
    check_executor,
    executor_kind,
)


def test_unset_or_empty_is_the_single_threaded_default():
    assert executor_kind({}) == 'single'
    assert executor_kind({EXECUTOR_ENV: ''}) == 'single'
    assert check_executor('') == 'single'


def test_events_is_read_from_the_environment():
    assert executor_kind({EXECUTOR_ENV: 'events'}) == 'events'


@pytest.mark.parametrize('bad', ['Events', 'multi', ' events'])
def test_unknown_executor_raises_naming_the_variable(bad):
    with pytest.raises(ExecutorChoiceError, match=rf"{EXECUTOR_ENV}: executor '{bad}': "
                                                  r'expected one of single, events'):
        executor_kind({EXECUTOR_ENV: bad})
    with pytest.raises(ExecutorChoiceError):
        check_executor(bad)
