"""Module 04 Layers: Module (registration, state_dict, modes), Linear, containers,
Dropout, Flatten, init -- against PyTorch where it has an answer."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn


class MLP(nn.Module):
    def __init__(self, sizes=(4, 8, 3)):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU())
        self.head = nn.Linear(sizes[1], sizes[2])
        self.register_buffer("steps", tt.zeros(1))

    def forward(self, x):
        return self.head(self.body(x))


# ---- Linear ------------------------------------------------------------------------------

def torch_twin(layer, torch, bias=True):
    """A torch.nn.Linear with the same weights as ``layer``."""
    ref = torch.nn.Linear(layer.in_features, layer.out_features, bias=bias)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.data))
        if bias:
            ref.bias.copy_(torch.tensor(layer.bias.data))
    return ref


@pytest.mark.parametrize("shape", [(5, 7), (2, 4, 7), (7,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias, rng, torch):
    layer = nn.Linear(7, 3, bias=bias)
    ref = torch_twin(layer, torch, bias)
    x = rng.standard_normal(shape).astype(np.float32)
    out = layer(tt.tensor(x, requires_grad=True))
    want = ref(torch.tensor(x, requires_grad=True))
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32 and p.requires_grad
        assert np.abs(p.data).max() <= bound
    w = layer.weight.data
    assert w.shape == (300, 400) and layer.bias.shape == (300,)
    assert np.abs(w).max() > 0.99 * bound  # fills the interval ...
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # ... uniformly
    assert abs(w.mean()) < 0.01 * bound


def test_linear_init_is_seeded():
    tt.manual_seed(7)
    a = nn.Linear(3, 2).weight.data.copy()
    tt.manual_seed(7)
    np.testing.assert_array_equal(a, nn.Linear(3, 2).weight.data)


def test_linear_wrong_in_features_names_both_shapes():
    with pytest.raises(ValueError, match=r"expected input of shape \(\*, 4\), got shape \(2, 3\)"):
        nn.Linear(4, 2)(tt.ones(2, 3))


def test_linear_without_bias_and_repr():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


# ---- Module: registration and traversal -------------------------------------------------

def test_named_parameters_have_dotted_names():
    model = MLP()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    assert sum(p.numel() for p in model.parameters()) == 4 * 8 + 8 + 8 * 3 + 3
    assert [n for n, _ in model.named_buffers()] == ["steps"]
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())


def test_parameter_count_matches_torch(torch):
    ours = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    theirs = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                 torch.nn.Linear(256, 10))
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_children_and_modules():
    model = MLP()
    assert [n for n, _ in model.named_children()] == ["body", "head"]
    assert [type(m).__name__ for m in model.children()] == ["Sequential", "Linear"]
    assert [type(m).__name__ for m in model.modules()] == ["MLP", "Sequential", "Linear", "ReLU",
                                                           "Linear"]
    assert [n for n, _ in model.named_modules()] == ["", "body", "body.0", "body.1", "head"]


def test_shared_parameter_is_listed_once():
    a = nn.Linear(3, 3)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(model.parameters())) == 2


def test_reassigning_and_deleting_attributes():
    model = MLP()
    model.head = nn.Linear(8, 5)
    assert model.head.out_features == 5 and len(list(model.parameters())) == 4
    model.head = None
    assert model.head is None and len(list(model.parameters())) == 2
    with pytest.raises(TypeError, match="cannot assign a Tensor to parameter 'weight'"):
        model.body[0].weight = tt.ones(8, 4)
    del model.body
    assert not hasattr(model, "body")
    with pytest.raises(AttributeError, match="'MLP' object has no attribute 'nothing'"):
        _ = model.nothing


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Broken()


def test_module_without_forward_is_a_clear_error():
    with pytest.raises(TypeError, match="has no forward"):
        nn.Module()(tt.ones(1))


def test_train_eval_reach_every_submodule():
    model = nn.Sequential(MLP(), nn.Dropout(0.5))
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_apply_and_to_dtype():
    model = MLP()
    model.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert all(np.all(m.weight.data == 0) for m in model.modules() if isinstance(m, nn.Linear))
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model(tt.randn(2, 4, dtype=tt.float64)).dtype == np.float64
    assert model.float().head.weight.dtype == np.float32


def test_forward_hooks_see_inputs_and_outputs():
    layer, seen = nn.Linear(2, 3), []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append((args[0].shape,
                                                                           out.shape)))
    layer(tt.ones(4, 2))
    handle.remove()
    layer(tt.ones(4, 2))
    assert seen == [((4, 2), (4, 3))]


# ---- state_dict ---------------------------------------------------------------------------

def test_state_dict_round_trip():
    tt.manual_seed(1)
    source = MLP()
    source.steps.fill_(5)
    state = source.state_dict()
    # PyTorch's order: a module's own parameters and buffers, then its children's
    assert list(state) == ["steps", "body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    target = MLP()
    x = tt.randn(3, 4)
    assert not np.allclose(target(x).data, source(x).data)
    result = target.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(target(x).data, source(x).data)
    assert target.steps.item() == 5


def test_state_dict_holds_copies():
    model = MLP()
    state = model.state_dict()
    before = state["head.weight"].copy()
    with tt.no_grad():
        model.head.weight.data += 1
    np.testing.assert_array_equal(state["head.weight"], before)
    weight = model.head.weight
    model.load_state_dict(state)
    assert model.head.weight is weight  # loaded in place: optimizers keep their references
    np.testing.assert_array_equal(weight.data, before)


def test_load_state_dict_reports_missing_unexpected_and_mis_shaped_keys():
    model = MLP()
    state = model.state_dict()
    del state["head.bias"]
    state["extra.weight"] = np.zeros(2)
    state["body.0.weight"] = np.zeros((8, 5), dtype=np.float32)
    snapshot = model.state_dict()
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert 'Missing key(s) in state_dict: "head.bias"' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in message
    assert "size mismatch for body.0.weight" in message
    assert "(8, 5)" in message and "(8, 4)" in message
    for name, value in model.state_dict().items():  # nothing was half-loaded
        np.testing.assert_array_equal(value, snapshot[name])


def test_load_state_dict_size_mismatch_message():
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a value of "
                                           r"shape \(3, 2\) .* current model is \(2, 2\)"):
        nn.Linear(2, 2).load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)})


def test_load_state_dict_non_strict_returns_the_differences():
    model = MLP()
    state = model.state_dict()
    del state["steps"]
    state["other"] = np.ones(1)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["steps"] and result.unexpected_keys == ["other"]


def test_buffers_are_saved_but_not_learned():
    module = nn.Module()
    module.register_buffer("running_mean", tt.zeros(3))
    module.register_buffer("scratch", tt.zeros(2), persistent=False)
    assert list(module.parameters()) == []
    assert list(module.state_dict()) == ["running_mean"]
    module.running_mean = tt.ones(3)  # assigning to a buffer name keeps it a buffer
    np.testing.assert_array_equal(module.state_dict()["running_mean"], np.ones(3))
    with pytest.raises(TypeError, match="buffer 'running_mean' must be a Tensor"):
        module.running_mean = [1, 2, 3]


def test_state_dict_matches_torch_names(torch):
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(tt.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


# ---- repr -----------------------------------------------------------------------------------

def test_nested_repr_like_pytorch():
    assert repr(MLP()) == (
        "MLP(\n"
        "  (body): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "    (1): ReLU()\n"
        "  )\n"
        "  (head): Linear(in_features=8, out_features=3, bias=True)\n"
        ")")


def test_parameter_repr_and_defaults():
    p = nn.Parameter(tt.tensor([1.0, 2.0]))
    assert p.requires_grad and isinstance(p, tt.Tensor)
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert not nn.Parameter(tt.ones(1), requires_grad=False).requires_grad
    assert not isinstance(p * 2, nn.Parameter)  # results of ops are plain tensors


# ---- containers -----------------------------------------------------------------------------

def test_sequential_indexing_len_iteration_append():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert len(seq) == 2 and isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.ReLU)
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU"]
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and seq(tt.ones(5, 2)).shape == (5, 1)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1"]
    with pytest.raises(IndexError, match="index 5 is out of range for 2 modules"):
        seq[5]
    with pytest.raises(TypeError, match="expected an nn.Module, got int"):
        seq.append(3)


def test_sequential_with_named_children():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in seq.named_parameters()] == ["fc.weight", "fc.bias"]
    assert isinstance(seq[1], nn.Tanh) and seq.fc is seq[0]


def test_module_list_and_dict_register_parameters():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.insert(0, nn.Linear(2, 2))
    assert len(layers) == 4 and len(list(layers.parameters())) == 8
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3"]
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    assert list(heads) == ["a", "b"] and "a" in heads and len(heads) == 2
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight",
                                                        "b.bias"]
    with pytest.raises(TypeError, match="no forward"):
        layers(tt.ones(1, 2))


# ---- Dropout, Flatten, Identity -----------------------------------------------------------

def test_dropout_train_and_eval():
    layer = nn.Dropout(0.25)
    x = tt.ones(200, 100, requires_grad=True)
    out = layer(x)
    kept = out.data != 0
    assert 0.73 < kept.mean() < 0.77
    np.testing.assert_allclose(out.data[kept], 1 / 0.75)
    layer.eval()
    assert layer(x) is x
    assert repr(layer) == "Dropout(p=0.25)"


def test_dropout_edge_probabilities_and_seed():
    x = tt.randn(4, 5)
    assert nn.functional.dropout(x, 0.0) is x
    assert np.all(nn.functional.dropout(x, 1.0).data == 0)
    tt.manual_seed(3)
    a = nn.functional.dropout(x, 0.5).data
    tt.manual_seed(3)
    np.testing.assert_array_equal(a, nn.functional.dropout(x, 0.5).data)
    with pytest.raises(ValueError, match="between 0 and 1, got 1.5"):
        nn.Dropout(1.5)


def test_flatten_and_identity(torch):
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    for args in [(), (0,), (1, 2), (2, -1)]:
        want = torch.nn.Flatten(*args)(torch.tensor(x)).numpy()
        np.testing.assert_array_equal(nn.Flatten(*args)(tt.tensor(x)).data, want)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    with pytest.raises(IndexError, match="dim 4 is out of range"):
        nn.Flatten(4)(tt.tensor(x))
    t = tt.ones(2)
    assert nn.Identity(54, unused="x")(t) is t


# ---- init -------------------------------------------------------------------------------------

def test_init_functions():
    w = tt.empty(200, 300)
    bound = math.sqrt(6 / (200 + 300))
    assert nn.init.xavier_uniform_(w) is w
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    nn.init.kaiming_uniform_(w, nonlinearity="relu")
    assert np.abs(w.data).max() <= math.sqrt(2) * math.sqrt(3 / 300)
    nn.init.normal_(w, 1.0, 0.5)
    assert w.data.mean() == pytest.approx(1.0, abs=0.01) and w.data.std() == pytest.approx(
        0.5, rel=0.02)
    nn.init.uniform_(w, -2, 3)
    assert w.data.min() >= -2 and w.data.max() < 3 and w.dtype == np.float32
    assert np.all(nn.init.zeros_(w).data == 0) and np.all(nn.init.ones_(w).data == 1)
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    with pytest.raises(ValueError, match="at least 2 dims"):
        nn.init.xavier_uniform_(tt.empty(3))


def test_init_does_not_record_a_graph():
    layer = nn.Linear(3, 2)
    nn.init.normal_(layer.weight)
    assert layer.weight.grad_fn is None and layer.weight.is_leaf
