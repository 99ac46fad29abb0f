"""AdaLoRA's step count, default schedule and budget, as pure functions."""

import pytest

from balora.errors import UserError
from balora.methods.adalora.schedule import (
    adalora_parameter_count,
    adalora_schedule,
    optimizer_steps,
    target_rank_for_budget,
)


@pytest.mark.parametrize("size, batch, accumulation, epochs, processes, expected", [
    (80, 8, 1, 3, 1, 30), (81, 8, 1, 1, 1, 11), (80, 8, 3, 2, 1, 8), (80, 8, 1, 1, 2, 5), (5, 8, 4, 2, 1, 2),
])
def test_optimizer_steps(size, batch, accumulation, epochs, processes, expected):
    assert optimizer_steps(size, batch, accumulation, epochs, processes) == expected


def test_default_schedule_is_10_percent_warm_up_20_percent_final_and_20_reallocations():
    schedule = adalora_schedule(1000, None, None, None)
    assert (schedule.tinit, schedule.tfinal, schedule.delta_t, schedule.final_step) == (100, 200, 35, 800)
    assert adalora_schedule(4, None, None, None).delta_t == 1


def test_schedule_without_a_pruning_phase_is_an_error():
    with pytest.raises(UserError, match="leave no steps to reallocate ranks in 10 optimizer steps"):
        adalora_schedule(10, 5, 5, None)


def test_target_rank_lands_closest_to_the_budget():
    shapes = {f"m{i}": (384, 384) for i in range(12)}  # one rank on all: 12 x 769 = 9,228
    assert target_rank_for_budget(shapes, 73_728, 12) == 8
    assert adalora_parameter_count(shapes, dict.fromkeys(shapes, 8)) == 73_824
    assert target_rank_for_budget(shapes, 9_228 // 2 + 1, 12) == 1


def test_budget_far_below_one_rank_everywhere_is_refused_not_overshot():
    shapes = {f"m{i}": (384, 384) for i in range(12)}
    with pytest.raises(UserError, match="below what AdaLoRA keeps at the smallest target_r 1 .9,228"):
        target_rank_for_budget(shapes, 10, 12)
    with pytest.raises(UserError, match="target_r 13, above --adalora_init_r 12"):
        target_rank_for_budget(shapes, 13 * 9_228, 12)
