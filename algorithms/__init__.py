"""Constrained policy optimization algorithms and the maths they share.

Every algorithm is one file here plus one YAML file in ``conf/algo/``; the harness finds it through
the YAML's ``_target_`` and never needs an edit. Shared pieces: ``policy``, ``value_critic``,
``critic_stack`` (all critics fitted as one stacked network), ``simd_tanh``, ``advantage_estimation``
(GAE), ``conjugate_gradient``, ``fisher_vector_product``, ``line_search``,
``observation_normalizer``, the ``trust_region`` base that TRPO, CPO, PCPO and the penalty methods
build on, and the ``first_order`` base (minibatch epochs) of PPO-Lagrangian, PID-Lagrangian and FOCOPS.
See docs/adding_an_algorithm.md.
"""
