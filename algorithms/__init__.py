"""Constrained policy optimization algorithms, one file each; the machinery they share is in ``core``.

Every algorithm is one file here plus one YAML file in ``conf/algo/``; the harness finds it through
the YAML's ``_target_`` (``algorithms.<name>.<Class>``) and never needs an edit. Trust-region methods
(TRPO, CPO, PCPO, CRPO, the penalty methods) build on ``core.trust_region``; first-order ones (the
PPO-Lagrangian family, FOCOPS, CUP, P3O, IPO, Saute, RCPO) on ``core.first_order``; the off-policy ones
(SAC-, TD3-, DDPG-Lagrangian) on ``core.off_policy``. See docs/adding_an_algorithm.md.
"""
