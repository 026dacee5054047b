"""The step length that puts a direction on the trust region's edge: the one formula of TRPO's step size.

The quadratic model of the mean KL is 1/2 x'Hx, so a direction x with x'Hx = quad reaches the edge
1/2 x'Hx = delta when scaled by sqrt(2 delta / quad). TRPO's full step, CPO's recovery step, PCPO's
reward step, the trust-region clip and the released critic fit all use it; each caller keeps its own
guard against a zero ``quad``, as the released code did.
"""

from __future__ import annotations

import math


def kl_edge_scale(quad: float, max_kl: float) -> float:
    """sqrt(2 delta / x'Hx): scaling x by it gives 1/2 x'Hx = delta, the trust region's edge."""
    return math.sqrt(2 * max_kl / quad)
