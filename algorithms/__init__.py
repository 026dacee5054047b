"""Constrained policy optimization algorithms, one file each; the machinery they share is in ``core``.

Every algorithm is one file here plus one YAML file in ``conf/algo/``; the harness finds it through
the YAML's ``_target_`` (``algorithms.<name>.<Class>``) and never needs an edit. Trust-region methods
(TRPO, CPO, PCPO, the penalty methods) build on ``core.trust_region``; first-order ones (PPO-Lagrangian,
PID-Lagrangian, FOCOPS) on ``core.first_order``. See docs/adding_an_algorithm.md.
"""
