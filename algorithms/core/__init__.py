"""Machinery shared by several algorithms (off-policy: the replay buffer and the base class)."""
