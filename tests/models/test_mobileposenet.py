"""MobilePoseNet (paper 002): shapes, gradients, input-size rules and cost against the paper."""

import pytest
import torch

import featherpose
from featherpose.complexity import count_params
from featherpose.models.mobileposenet import BNECKS, TABLE1, mobileposenet


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return featherpose.build_model("mobileposenet", num_keypoints=5)


@pytest.mark.parametrize("hw", [(128, 96), (96, 80), (64, 48)])
def test_heatmaps_at_quarter_resolution(model, hw):
    model.eval()
    with torch.no_grad():
        y = model(torch.randn(2, 3, *hw))
    assert isinstance(y, torch.Tensor) and y.shape == (2, 5, hw[0] // 4, hw[1] // 4)


def test_sixteen_keypoints():
    m = featherpose.build_model("mobileposenet", num_keypoints=16).eval()
    with torch.no_grad():
        assert m(torch.randn(1, 3, 64, 48)).shape == (1, 16, 16, 12)


def test_rejects_sizes_not_multiple_of_16(model):
    with pytest.raises(ValueError, match="multiples of 16"):
        model(torch.randn(1, 3, 100, 80))


def test_forward_backward(model):
    model.train()
    y = model(torch.randn(2, 3, 64, 48))
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads)
    assert all(torch.isfinite(g).all() for g in grads)
    model.zero_grad()


def test_deterministic_init():
    torch.manual_seed(3)
    a = mobileposenet().state_dict()
    torch.manual_seed(3)
    b = mobileposenet().state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    head = mobileposenet().head[-1]
    assert head.weight.std() < 0.002 and torch.all(head.bias == 0)


def test_table1_readings():
    # Row 14's exp size is the only departure from the printed table; SE position doubles the size.
    assert [i for i, (a, b) in enumerate(zip(BNECKS, TABLE1, strict=True)) if a != b] == [13]
    assert BNECKS[13][1] == 672 and TABLE1[13][1] == 960
    literal = count_params(mobileposenet(bnecks=TABLE1, se_position="expand"))
    assert 2.9e6 < literal < 3.2e6  # DESIGN.md's "~3.1M" for Table 1 taken literally
    with pytest.raises(ValueError, match="stride 16"):
        mobileposenet(bnecks=BNECKS[:6])


@pytest.mark.parametrize("name", ["mobileposenet", "mobileposenet_384"])
def test_complexity_matches_paper(name):
    spec = featherpose.get_spec(name)
    with torch.device("meta"):  # counting on shapes only: same numbers, no compute
        model = featherpose.build_model(name)
    c = featherpose.complexity(model, spec.input_size)
    assert c.params == pytest.approx(spec.paper_params, rel=0.05)
    assert c.macs == pytest.approx(spec.paper_macs, rel=0.10)
