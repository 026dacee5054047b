"""Gather: placement rules, collection, the bin sensors, and the Point/Ant-Gather environments."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tasks
from tasks.gather import (
    APPLE,
    BOMB,
    GatherObject,
    grid_points,
    place_objects,
    sensor_readings,
    split_caught,
)

SENSOR = {"n_bins": 10, "sensor_range": 6.0, "sensor_span": math.pi}


def apple(x: float, y: float, slot: int = 0) -> GatherObject:
    return GatherObject(x, y, APPLE, slot)


def bomb(x: float, y: float, slot: int = 0) -> GatherObject:
    return GatherObject(x, y, BOMB, slot)


def readings(objects, x=0.0, y=0.0, heading=0.0) -> np.ndarray:
    return sensor_readings(objects, x, y, heading, **SENSOR)


# --- placement -------------------------------------------------------------------------------------

def test_grid_is_the_released_codes_even_points_minus_the_origin():
    points = {tuple(p) for p in grid_points(6.0, 2.0).tolist()}
    ticks = (-6.0, -4.0, -2.0, 0.0, 2.0, 4.0)  # 2k for k in [-3, 3)
    assert points == {(x, y) for x in ticks for y in ticks} - {(0.0, 0.0)}
    assert (2.0, 0.0) in points and (0.0, -2.0) in points  # exactly at the spacing: allowed


def test_spacing_removes_points_near_the_origin():
    points = grid_points(6.0, 3.0)
    assert len(points) == 36 - 9  # the origin, its 4 neighbours at 2 and 4 diagonals at 2.83
    assert np.all(np.hypot(points[:, 0], points[:, 1]) >= 3.0)


@pytest.mark.parametrize(("n_apples", "n_bombs"), [(2, 8), (8, 8)])
def test_placement_is_distinct_on_the_grid_apples_first(n_apples, n_bombs):
    allowed = {tuple(p) for p in grid_points(6.0, 2.0).tolist()}
    for seed in range(50):
        objects = place_objects(np.random.default_rng(seed), n_apples, n_bombs, 6.0, 2.0)
        spots = [(o.x, o.y) for o in objects]
        assert len(set(spots)) == n_apples + n_bombs
        assert set(spots) <= allowed
        assert [o.kind for o in objects] == [APPLE] * n_apples + [BOMB] * n_bombs
        assert [o.slot for o in objects] == list(range(n_apples + n_bombs))


def test_placement_reaches_every_allowed_point_and_depends_on_the_seed():
    seen = set()
    for seed in range(200):
        seen |= {(o.x, o.y) for o in place_objects(np.random.default_rng(seed), 8, 8, 6.0, 2.0)}
    assert len(seen) == 35
    first = place_objects(np.random.default_rng(0), 8, 8, 6.0, 2.0)
    assert first == place_objects(np.random.default_rng(0), 8, 8, 6.0, 2.0)
    assert first != place_objects(np.random.default_rng(1), 8, 8, 6.0, 2.0)


def test_too_many_objects_is_an_error_not_an_endless_loop():
    with pytest.raises(ValueError, match="do not fit"):
        place_objects(np.random.default_rng(0), 20, 16, 6.0, 2.0)


# --- collection ------------------------------------------------------------------------------------

def test_objects_strictly_inside_the_catch_range_are_collected():
    near, edge, far, side = apple(0.9, 0.0, 0), bomb(1.0, 0.0, 1), apple(3.0, 3.0, 2), bomb(0.0, -0.5, 3)
    got, kept = split_caught([near, edge, far, side], 0.0, 0.0, catch_range=1.0)
    assert got == [near, side]
    assert kept == [edge, far]


def test_collection_is_measured_from_the_robot():
    got, kept = split_caught([apple(4.0, 2.0)], 3.5, 2.5, catch_range=1.0)
    assert len(got) == 1 and kept == []


# --- sensors ---------------------------------------------------------------------------------------

def test_object_straight_ahead_fills_the_middle_bin():
    expected = np.zeros(20)
    expected[5] = 1.0 - 3.0 / 6.0  # angle 0 lies in bin int((0 + pi/2) / (pi/10)) = 5
    np.testing.assert_allclose(readings([apple(3.0, 0.0)]), expected)


def test_bins_rotate_with_the_heading_and_follow_the_robot():
    ahead = readings([apple(3.0, 0.0)])
    np.testing.assert_allclose(readings([apple(0.0, 3.0)], heading=math.pi / 2), ahead)
    np.testing.assert_allclose(readings([apple(4.0, 5.0)], x=1.0, y=5.0), ahead)


def test_left_and_right_objects_fall_in_the_outer_bins():
    left = readings([apple(3.0 * math.cos(1.45), 3.0 * math.sin(1.45))])  # 83 degrees counter-clockwise
    right = readings([apple(3.0 * math.cos(-1.45), 3.0 * math.sin(-1.45))])
    assert np.flatnonzero(left).tolist() == [9]
    assert np.flatnonzero(right).tolist() == [0]


def test_objects_behind_or_out_of_range_are_not_seen():
    assert not readings([apple(-3.0, 0.0), bomb(-1.0, -0.2)]).any()
    assert not readings([apple(6.5, 0.0), bomb(0.0, 7.0)]).any()
    assert not readings([apple(-3.0, 0.0)], heading=math.pi * 2 + 0.0001).any()  # angles wrap


def test_nearer_object_of_the_same_kind_occludes_the_farther_one():
    for objects in ([apple(2.0, 0.0), apple(4.0, 0.0)], [apple(4.0, 0.0), apple(2.0, 0.0)]):
        result = readings(objects)
        assert result[5] == pytest.approx(1.0 - 2.0 / 6.0)
        assert np.count_nonzero(result) == 1


def test_kinds_have_their_own_bins_and_do_not_occlude_each_other():
    result = readings([apple(4.0, 0.0), bomb(2.0, 0.0)])
    assert result[5] == pytest.approx(1.0 - 4.0 / 6.0)  # apple bins first
    assert result[15] == pytest.approx(1.0 - 2.0 / 6.0)  # then bomb bins
    assert np.count_nonzero(result) == 2


# --- Point-Gather ----------------------------------------------------------------------------------

def point_gather(**overrides):
    env = tasks.make("point_gather", **overrides).unwrapped
    obs, info = env.reset(seed=4)
    return env, obs, info


def stand_on(env, obj) -> None:
    """Put the point robot on an object, heading along +x."""
    env.data.qpos[:] = (obj.x, obj.y, 0.0)


def test_reset_places_objects_and_observes_them():
    env, obs, info = point_gather()
    assert info == {"apples": 0, "bombs": 0}
    assert len(env.objects) == 10
    for obj in env.objects:
        np.testing.assert_allclose(env.data.mocap_pos[env._mocap[obj.slot]], (obj.x, obj.y, 0.3))
    x, y = env.data.subtree_com[env.robot.torso, :2]
    np.testing.assert_array_equal(obs[9:], sensor_readings(env.objects, x, y, env.data.qpos[2], **SENSOR))
    assert obs[9:].any()  # ten objects within 6 of the centre: some are in front


def test_collecting_an_apple_rewards_and_removes_it():
    env, *_ = point_gather()
    target = next(o for o in env.objects if o.kind == APPLE)
    stand_on(env, target)
    _, reward, terminated, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert reward == 10.0 and info["cost"] == 0.0
    assert info["apples"] == 1 and info["bombs"] == 0
    assert target not in env.objects and len(env.objects) == 9
    assert env.data.mocap_pos[env._mocap[target.slot], 2] < 0  # hidden under the floor
    assert not terminated


@pytest.mark.parametrize(("penalty", "reward"), [(0.0, 0.0), (1.0, -1.0)])
def test_a_bomb_costs_one_and_optionally_a_reward(penalty, reward):
    env, *_ = point_gather(bomb_reward_penalty=penalty)
    stand_on(env, next(o for o in env.objects if o.kind == BOMB))
    _, got_reward, _, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert info["cost"] == 1.0 and got_reward == reward
    assert info["bombs"] == 1 and info["apples"] == 0


def test_counts_accumulate_over_the_episode():
    env, *_ = point_gather()
    bombs = [o for o in env.objects if o.kind == BOMB][:2]
    for target in bombs:
        stand_on(env, target)
        info = env.step(np.zeros(2, dtype=np.float32))[4]
    assert info["bombs"] == 2


def test_episode_ends_when_every_object_is_gone():
    env, *_ = point_gather(n_apples=1, n_bombs=0)
    stand_on(env, env.objects[0])
    _, reward, terminated, truncated, _ = env.step(np.zeros(2, dtype=np.float32))
    assert reward == 10.0 and terminated and not truncated


def test_point_stays_inside_the_walls():
    env, *_ = point_gather()
    env.data.qpos[:] = (5.5, -5.8, 0.0)
    env.step(np.array([1.0, 0.0], dtype=np.float32))
    assert env.data.qpos[0] == 6.0  # clipped to the activity range (walls at 7)
    env.step(np.array([1.0, -math.pi / 2], dtype=np.float32))
    assert env.data.qpos[1] == -6.0


def test_horizon_truncates_the_episode():
    env = tasks.make("point_gather")
    env.reset(seed=0)
    flags = [env.step(np.zeros(2, dtype=np.float32))[2:4] for _ in range(15)]
    assert flags[-1] == (False, True) and all(f == (False, False) for f in flags[:-1])


# --- Ant-Gather ------------------------------------------------------------------------------------

def test_ant_collects_with_its_centre_of_mass():
    env = tasks.make("ant_gather").unwrapped
    env.reset(seed=2)
    target = next(o for o in env.objects if o.kind == APPLE)
    qpos = env.robot.init_qpos.copy()
    env.set_state(qpos, np.zeros(env.model.nv))
    qpos[:2] += np.array([target.x, target.y]) - env.robot.com_xy()
    env.set_state(qpos, np.zeros(env.model.nv))
    obs, reward, terminated, _, info = env.step(np.zeros(8, dtype=np.float32))
    assert reward == 10.0 and info["apples"] == 1 and not terminated
    assert obs.shape == (52,)


def test_ant_falling_gives_minus_ten_and_ends_the_episode():
    env = tasks.make("ant_gather").unwrapped
    env.reset(seed=2)
    qpos = env.robot.init_qpos.copy()
    qpos[2] = 1.5  # above the healthy range
    env.set_state(qpos, np.zeros(env.model.nv))
    _, reward, terminated, truncated, info = env.step(np.zeros(8, dtype=np.float32))
    assert reward == -10.0 and terminated and not truncated and info["cost"] == 0.0


def test_walls_stand_at_activity_range_plus_one_and_stop_the_ant():
    model = tasks.make("ant_gather").unwrapped.model
    positions = sorted(tuple(np.round(model.geom(f"wall{i}").pos[:2], 6)) for i in range(1, 5))
    assert positions == [(-7.0, 0.0), (0.0, -7.0), (0.0, 7.0), (7.0, 0.0)]
    assert all(model.geom(f"wall{i}").conaffinity[0] == 1 for i in range(1, 5))


def test_ant_sensors_use_the_torso_yaw():
    env = tasks.make("ant_gather").unwrapped
    env.reset(seed=2)
    yaw = 0.7
    qpos = env.robot.init_qpos.copy()
    qpos[3:7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))  # rotation about z
    env.set_state(qpos, np.zeros(env.model.nv))
    assert env.robot.heading() == pytest.approx(yaw)
