"""The architectures the planner knows, and what AutoGluon's model of each holds: its
parameters, in total, trained, and tensor by tensor (plain arithmetic on a config's sizes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Strategies the model knows: ``"full"`` is full finetuning.
PEFT_METHODS: tuple[str, ...] = ("full", "ia3", "ia3_bias")


@dataclass(frozen=True)
class Architecture:
    """The sizes of an encoder that the planner reads from its config."""

    family: str  # "t5" or "deberta-v2"
    d: int
    inner: int  # heads * head size
    d_ff: int
    heads: int
    layers: int
    vocab: int
    buckets: int  # T5: relative-attention buckets; DeBERTa: position buckets (the attention span)
    gated: bool


def architecture(config: Any) -> Architecture:
    """The sizes of ``config``, a transformers config of the T5 family or of DeBERTa-v3.

    Raises
    ------
    ValueError
        For another architecture, or DeBERTa attention the planner does not model.
    """
    model_type = getattr(config, "model_type", None)
    if model_type in {"t5", "mt5", "umt5"}:
        return Architecture(
            family="t5",
            d=config.d_model,
            inner=config.num_heads * config.d_kv,
            d_ff=config.d_ff,
            heads=config.num_heads,
            layers=config.num_layers,
            vocab=config.vocab_size,
            buckets=config.relative_attention_num_buckets,
            gated=config.feed_forward_proj.startswith("gated"),
        )
    if model_type == "deberta-v2":
        supported = (
            config.relative_attention
            and config.position_buckets > 0
            and sorted(config.pos_att_type) == ["c2p", "p2c"]
            and config.share_att_key
            and not config.position_biased_input
            and not config.type_vocab_size
        )
        if not supported:
            raise ValueError(
                "estimate_training_memory knows DeBERTa-v3's attention (relative_attention, position_buckets > 0, "
                "pos_att_type c2p and p2c, share_att_key, no absolute positions, no token types); this config differs"
            )
        return Architecture(
            family="deberta-v2",
            d=config.hidden_size,
            inner=config.hidden_size,
            d_ff=config.intermediate_size,
            heads=config.num_attention_heads,
            layers=config.num_hidden_layers,
            vocab=config.vocab_size,
            buckets=config.position_buckets,
            gated=False,
        )
    raise ValueError(
        "estimate_training_memory knows the T5 family (t5, mt5, umt5) and DeBERTa-v2/v3 (deberta-v2); got a config "
        f"of model_type {model_type or type(config).__name__!r}. Pass a transformers config, for example "
        "helpers.flan_t5_config('google/flan-t5-xl')."
    )


def parameter_counts(
    config: Any, peft: str, num_classes: int = 2
) -> tuple[int, int, int]:
    """``(total, trainable, largest trainable tensor)`` of AutoGluon's model for ``config``.

    AutoGluon keeps the encoder and adds a linear head, which always trains. IA3 adds a
    scaling vector to the outputs of the layers ``optim.lora.filter`` names: q, k, v and o
    in T5, the query and value projections in DeBERTa. ``ia3_bias`` also trains whatever
    has ``bias`` in its name: every bias of DeBERTa; in T5, which has no bias vectors, the
    relative position bias table of its first block. In T5, AutoGluon also trains the final
    layer norm.
    """
    a = architecture(config)
    check_peft(peft, a)
    head = a.d * num_classes + num_classes
    embedding = a.vocab * a.d
    if a.family == "t5":
        block = t5_block_params(a)
        position_bias = a.buckets * a.heads
        total = embedding + a.layers * block + position_bias + a.d + head
        if peft == "full":
            return total, total, max(embedding, a.d_ff * a.d)
        ia3 = a.layers * t5_ia3_params(a)
        bias = position_bias if peft.endswith("_bias") else 0
        return (
            total + ia3,
            ia3 + head + a.d + bias,
            max(bias, a.d * num_classes, a.d),
        )
    # DeBERTa-v3: q, k, v, o and two feed-forward matrices with biases, two layer norms per
    # block; an embedding layer norm; the relative position embeddings and their layer norm
    block = (
        4 * (a.d * a.d + a.d)
        + 2 * a.d
        + 2 * a.d * a.d_ff
        + a.d_ff
        + a.d
        + 2 * a.d
    )
    total = (
        embedding
        + 2 * a.d
        + a.layers * block
        + 2 * a.buckets * a.d
        + 2 * a.d
        + head
    )
    if peft == "full":
        return total, total, embedding
    ia3 = a.layers * 2 * a.d
    biases = a.layers * (4 * a.d + 2 * a.d + a.d_ff + a.d) + 2 * a.d
    return total + ia3, ia3 + biases + head, max(a.d_ff, a.d * num_classes)


def t5_block_params(a: Architecture) -> int:
    """Parameters of one T5 block: q, k, v, o, the feed-forward matrices, two layer norms."""
    return (
        4 * a.d * a.inner
        + ((2 if a.gated else 1) + 1) * a.d * a.d_ff
        + 2 * a.d
    )


def t5_ia3_params(a: Architecture) -> int:
    """IA3's scaling vectors in one T5 block."""
    return 3 * a.inner + a.d


def check_peft(peft: str, architecture: Architecture) -> None:
    """Raise ``ValueError`` unless the planner models ``peft`` on ``architecture``."""
    known = (
        PEFT_METHODS if architecture.family == "t5" else ("full", "ia3_bias")
    )
    if peft not in known:
        names = ", ".join(repr(p) for p in known)
        raise ValueError(
            f"no memory model for peft={peft!r} on {architecture.family}; known: {names}"
        )


def fsdp_units(a: Architecture, peft: str) -> tuple[int, int, int]:
    """Parameters of FSDP's largest block unit, of the unit of the rest, and of what trains
    in the rest (units: one per T5 block, one for everything else)."""
    # the largest block is the first, which holds the relative position bias table
    block = t5_block_params(a) + a.buckets * a.heads
    if peft != "full":
        block += t5_ia3_params(a)
    head = 2 * a.d + 2
    # the rest: embedding, final layer norm and head; with PEFT the last two train
    rest = a.vocab * a.d + a.d + head
    return block, rest, rest if peft == "full" else a.d + head


def parameter_tensors(
    a: Architecture, peft: str
) -> list[tuple[int, bool, str]]:
    """``(elements, trainable, group)`` of every parameter tensor of AutoGluon's model for
    ``a`` (two classes); they add up to :func:`parameter_counts`.

    ``group`` names the AdamW parameter group the tensor is in when it trains. AutoGluon's
    default ``optim.lr_choice: layerwise_decay`` (``apply_layerwise_lr_decay`` in
    ``autogluon/multimodal/optim/lr/utils.py``) makes one group per layer id and weight
    decay: "decay" for weights, "no decay" for biases and ``nn.LayerNorm`` parameters
    (``get_weight_decay_param_names``). T5's own layer norm is not an ``nn.LayerNorm``, so
    its weights decay with their block's matrices.
    """
    full = peft == "full"
    head = [(a.d * 2, True, "head"), (2, True, "head, no decay")]
    if a.family == "t5":
        matrices = 4 + (2 if a.gated else 1) + 1
        sizes = [a.d * a.inner] * 4 + [a.d * a.d_ff] * (matrices - 4)
        bias = full or peft.endswith("_bias")
        tensors = [
            (a.vocab * a.d, full, "embedding"),
            (a.buckets * a.heads, bias, "position bias, no decay"),
        ]
        for i in range(a.layers):
            block = [(n, full) for n in sizes] + [(a.d, full)] * 2
            if not full:  # IA3's vectors: q, k, v and o's outputs
                block += [(a.inner, True)] * 3 + [(a.d, True)]
            tensors += [(n, t, f"block {i}") for n, t in block]
        # the final layer norm has the head's layer id
        return tensors + [(a.d, True, "head")] + head
    # DeBERTa-v3: biases train with ia3_bias, and so do the two IA3 vectors per block
    tensors = [
        (a.vocab * a.d, full, "embedding"),
        (a.d, full, "embedding, no decay"),
        (a.d, True, "embedding, no decay"),
    ]
    for i in range(a.layers):
        weights = [(a.d * a.d, full)] * 4 + [(a.d * a.d_ff, full)] * 2
        ia3 = [] if full else [(a.d, True)] * 2
        biases = [(a.d, True)] * 4 + [(a.d_ff, True), (a.d, True)]
        norms = [(a.d, full), (a.d, True)] * 2
        tensors += [(n, t, f"block {i}") for n, t in weights + ia3]
        tensors += [
            (n, t, f"block {i}, no decay") for n, t in biases + norms
        ]
    # the relative position embeddings share the word embeddings' layer id
    tensors += [
        (2 * a.buckets * a.d, full, "embedding"),
        (a.d, full, "embedding, no decay"),
        (a.d, True, "embedding, no decay"),
    ]
    return tensors + head


def largest_optimizer_group(a: Architecture, peft: str) -> int:
    """Trainable parameters in AutoGluon's largest AdamW parameter group for ``a``
    (groups as :func:`parameter_tensors` names them)."""
    groups: dict[str, int] = {}
    for elements, trainable, group in parameter_tensors(a, peft):
        if trainable:
            groups[group] = groups.get(group, 0) + elements
    return max(groups.values())
