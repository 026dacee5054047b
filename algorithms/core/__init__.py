"""What the algorithms share, so that each algorithm's own file holds only what makes it itself.

Bases: ``base`` (the harness's interface), ``actor_critic`` (policy, critics, GAE, cost shaping),
``trust_region`` (TRPO's step) with ``penalized_trust_region``, ``first_order`` (minibatch Adam
epochs) and ``off_policy`` (replay-buffer learners: Q critics, targets, multiplier). Maths:
``conjugate_gradient``, ``fisher_vector_product``, ``kl_edge``, ``line_search``, ``advantage_estimation``,
``cpo_multi_constraint_dual``. Networks and data: ``policy``, ``mlp``, ``simd_tanh``, ``value_critic``,
``critic_stack``, ``trust_region_critic``, ``observation_normalizer``, ``rollout_batch``,
``replay_buffer``, ``cost_shaping``.
"""
