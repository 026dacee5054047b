"""NumPy's tanh in the networks: the same values as torch.tanh to float rounding, and exact derivatives."""

import numpy as np
import pytest
import torch

from algorithms.core.mlp import build_mlp, forward_for_inference
from algorithms.core.simd_tanh import SimdTanh, simd_tanh


def test_values_within_two_ulp_of_the_exact_tanh():
    x = torch.linspace(-12, 12, 200_001)
    exact = np.tanh(x.double().numpy())
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert (np.abs(simd_tanh(x).double().numpy() - exact) / ulp).max() <= 2.0
    assert torch.equal(simd_tanh(torch.tensor([0.0, 30.0, -30.0])), torch.tensor([0.0, 1.0, -1.0]))


def test_first_and_second_derivatives_are_tanh_s():
    x = (torch.randn(40, 5, dtype=torch.float64) * 2).requires_grad_()
    assert torch.autograd.gradcheck(simd_tanh, (x,))
    assert torch.autograd.gradgradcheck(simd_tanh, (x,))  # the Fisher-vector products differentiate twice


def test_hessian_vector_product_through_a_network_matches_torch_tanh():
    torch.manual_seed(0)
    net = build_mlp(7, 3, (16, 8)).double()
    assert isinstance(net[1], SimdTanh)
    x = torch.randn(50, 7, dtype=torch.float64)

    def hvp(activation) -> torch.Tensor:
        h = x
        for layer in net:
            h = activation(h) if isinstance(layer, SimdTanh) else layer(h)
        params = list(net.parameters())
        grads = torch.autograd.grad(h.pow(2).sum(), params, create_graph=True)
        flat = torch.cat([g.reshape(-1) for g in grads])
        hv = torch.autograd.grad(flat @ torch.ones_like(flat), params)
        return torch.cat([g.reshape(-1) for g in hv])

    torch.testing.assert_close(hvp(simd_tanh), hvp(torch.tanh), rtol=1e-10, atol=1e-12)


def test_layouts_and_modes():
    x = torch.randn(6, 4)
    with torch.inference_mode():
        torch.testing.assert_close(simd_tanh(x), torch.tanh(x))
    with torch.no_grad():
        torch.testing.assert_close(simd_tanh(x.t()), torch.tanh(x.t()))  # non-contiguous input
    half = x.to(torch.bfloat16)
    assert torch.equal(simd_tanh(half), torch.tanh(half))  # dtypes NumPy lacks: torch's kernel
    leaf = x.clone().requires_grad_()
    simd_tanh(leaf).sum().backward()
    torch.testing.assert_close(leaf.grad, 1 - torch.tanh(x) ** 2)


def test_forward_mode_and_vmap_fall_back_to_torch():
    import torch.autograd.forward_ad as forward_ad

    x, tangent = torch.randn(5, 3), torch.randn(5, 3)
    with forward_ad.dual_level():
        y = simd_tanh(forward_ad.make_dual(x, tangent))
        torch.testing.assert_close(forward_ad.unpack_dual(y).tangent, tangent * (1 - torch.tanh(x) ** 2))
    torch.testing.assert_close(torch.func.vmap(simd_tanh)(x), torch.tanh(x))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("rows", [1, 3, 8, 64])
def test_inference_forward_gives_the_network_s_numbers_exactly(activation, rows):
    torch.manual_seed(rows)
    net = build_mlp(32, 8, (64, 32), activation)
    x = torch.randn(rows, 32)
    with torch.no_grad():
        assert torch.equal(forward_for_inference(net, x), net(x))
