"""The architectures the planner knows, and what AutoGluon's model of each holds: its
parameters, in total, trained, and tensor by tensor (plain arithmetic on a config's sizes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Finetuning methods the model knows (AutoGluon's ``optim.peft``): ``"full"`` is full
#: finetuning (``optim.peft: null``), the rest the values AutoGluon 1.6.3 accepts for text
#: models (``PEFT_STRATEGIES`` in ``autogluon/multimodal/constants.py``, less
#: ``conv_lora``, which is for convolutional image models), with its spelling
#: ``"Ia3_lora_norm"``.
PEFT_METHODS: tuple[str, ...] = (
    "full",
    "bit_fit",
    "norm_fit",
    "lora",
    "lora_bias",
    "lora_norm",
    "ia3",
    "ia3_bias",
    "ia3_norm",
    "ia3_lora",
    "ia3_lora_bias",
    "Ia3_lora_norm",
)

#: AutoGluon's default LoRA rank (``optim.lora.r`` in ``configs/optim/default.yaml``).
LORA_RANK = 8

#: The transformers ``model_type`` of each family the planner knows.
FAMILIES: dict[str, tuple[str, ...]] = {
    "t5": ("t5", "mt5", "umt5"),
    "deberta-v2": ("deberta-v2",),
    "bert": ("bert", "roberta", "xlm-roberta", "electra"),
}


def adapter(peft: str) -> str:
    """What AutoGluon puts in the linear layers ``optim.lora.filter`` names, for ``peft``:
    "none", "ia3" (a scaling vector on the output), "lora" (a low-rank update ``B A``
    beside the weight) or "ia3_lora" (both).

    Read from ``create_adaptation`` in ``autogluon/multimodal/models/utils.py``, which
    tests substrings in this order: "ia3_lora", "conv_lora", "ia3", "lora". So
    ``"Ia3_lora_norm"``, with its capital letter, gets LoRA alone.
    """
    for name in ("ia3_lora", "ia3", "lora"):
        if name in peft:
            return name
    return "none"


def trains_biases(peft: str) -> bool:
    """Whether ``peft`` trains every parameter with "bias" in its name (AutoGluon's
    ``get_peft_param_names``: bit_fit, norm_fit and the ``_bias`` and ``_norm`` methods)."""
    return peft in {"bit_fit", "norm_fit"} or peft.endswith(
        ("_bias", "_norm")
    )


def trains_norms(peft: str) -> bool:
    """Whether ``peft`` trains the weights of every ``nn.LayerNorm`` (norm_fit and the
    ``_norm`` methods; T5's own layer norm is not an ``nn.LayerNorm``)."""
    return peft == "norm_fit" or peft.endswith("_norm")


@dataclass(frozen=True)
class Architecture:
    """The sizes of an encoder that the planner reads from its config."""

    family: str  # "t5", "deberta-v2" or "bert"
    d: int
    inner: int  # heads * head size
    d_ff: int
    heads: int
    layers: int
    vocab: int
    buckets: int  # T5: relative-attention buckets; DeBERTa: position buckets (the attention span)
    gated: bool
    #: BERT family: the embeddings' width (ELECTRA's ``embedding_size``, projected to ``d``)
    embedding: int = 0
    #: BERT family: rows of the absolute position and token type embeddings
    positions: int = 0
    token_types: int = 0
    #: BERT family: whether the encoder has a pooler (AutoGluon trains it and never uses it)
    pooler: bool = False
    #: BERT family: whether position ids are made from the token ids (RoBERTa's padding
    #: offset), rather than taken from a buffer
    positions_from_ids: bool = False


def _bert_style_sizes(config: Any) -> dict[str, int]:
    """The sizes DeBERTa's and the BERT family's configs name alike."""
    return {
        "d": config.hidden_size,
        "inner": config.hidden_size,
        "d_ff": config.intermediate_size,
        "heads": config.num_attention_heads,
        "layers": config.num_hidden_layers,
        "vocab": config.vocab_size,
    }


def architecture(config: Any) -> Architecture:
    """The sizes of ``config``, a transformers config of a family in :data:`FAMILIES`.

    Raises
    ------
    ValueError
        For another architecture, or DeBERTa attention the planner does not model.
    """
    model_type = getattr(config, "model_type", None)
    if model_type in FAMILIES["t5"]:
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
            **_bert_style_sizes(config),
            buckets=config.position_buckets,
            gated=False,
        )
    if model_type in FAMILIES["bert"]:
        absolute = getattr(config, "position_embedding_type", "absolute")
        if absolute != "absolute" or getattr(config, "is_decoder", False):
            raise ValueError(
                "estimate_training_memory knows BERT encoders with absolute positions "
                f"(position_embedding_type 'absolute', not a decoder); this {model_type} "
                f"config has {absolute!r}"
            )
        return Architecture(
            family="bert",
            **_bert_style_sizes(config),
            buckets=0,
            gated=False,
            embedding=getattr(config, "embedding_size", config.hidden_size),
            positions=config.max_position_embeddings,
            token_types=config.type_vocab_size,
            pooler=model_type != "electra",
            positions_from_ids=model_type in {"roberta", "xlm-roberta"},
        )
    known = "; ".join(
        f"{family} ({', '.join(types)})"
        for family, types in FAMILIES.items()
    )
    raise ValueError(
        f"estimate_training_memory knows these families (model_type): {known}; got a "
        f"config of model_type {model_type or type(config).__name__!r}. Pass a "
        "transformers config, for example helpers.flan_t5_config('google/flan-t5-xl')."
    )


def parameter_counts(
    config: Any,
    peft: str,
    num_classes: int = 2,
    *,
    lora_rank: int = LORA_RANK,
) -> tuple[int, int, int]:
    """``(total, trainable, largest trainable tensor)`` of AutoGluon's model for ``config``,
    with LoRA of rank ``lora_rank`` (``optim.lora.r``) where ``peft`` adds LoRA.

    AutoGluon keeps the encoder and adds a linear head, which always trains, as does the
    rest of its layer 0 (T5's final layer norm). The adapters of ``peft``
    (:func:`adapter`) go into the linear layers ``optim.lora.filter`` names: q, k, v and o
    in T5, the query and value projections in DeBERTa and BERT. The ``_bias`` methods and
    bit_fit also train whatever has ``bias`` in its name: every bias, and T5's relative
    position bias table. The ``_norm`` methods and norm_fit train those and every
    ``nn.LayerNorm``. "Trainable" counts what gets a gradient and AdamW's moments: a BERT
    pooler is in AutoGluon's layer 0 and requires gradients, but AutoGluon classifies from
    the first token's hidden state, not the pooler's output, so it gets none.
    """
    tensors = parameter_tensors(
        architecture(config),
        peft,
        lora_rank=lora_rank,
        num_classes=num_classes,
    )
    trained = [n for n, t, _ in tensors if t]
    return sum(n for n, _, _ in tensors), sum(trained), max(trained)


def check_peft(peft: str, architecture: Architecture) -> None:
    """Raise ``ValueError`` unless the planner models ``peft`` on ``architecture``."""
    if peft not in PEFT_METHODS:
        names = ", ".join(repr(p) for p in PEFT_METHODS)
        raise ValueError(
            f"no memory model for peft={peft!r} on {architecture.family}; known: {names}"
        )


def check_lora_rank(lora_rank: int) -> None:
    """Raise ``ValueError`` unless ``lora_rank`` is a whole number of at least 1."""
    if (
        isinstance(lora_rank, bool)
        or not isinstance(lora_rank, int)
        or lora_rank < 1
    ):
        raise ValueError(
            f"lora_rank must be a whole number of at least 1, got {lora_rank!r}"
        )


def adapted_layers(a: Architecture) -> list[tuple[int, int]]:
    """``(in, out)`` features of the linear layers of one block that AutoGluon's default
    ``optim.lora.filter`` (``query``, ``value``, ``^q$``, ``^v$``, ``^k$``, ``^o$``) names:
    T5's q, k, v and o; DeBERTa's ``query_proj`` and ``value_proj``; BERT's ``query``
    and ``value``."""
    if a.family == "t5":
        return [(a.d, a.inner)] * 3 + [(a.inner, a.d)]
    return [(a.d, a.inner)] * 2


def adapter_tensors(a: Architecture, peft: str, lora_rank: int) -> list[int]:
    """Sizes of the trainable tensors ``peft`` adds to one block: per adapted layer, IA3's
    ``lora_b`` (one per output feature) and LoRA's ``lora_A`` (rank x in) and ``lora_B``
    (out x rank), as ``IA3Linear``, ``LoRALinear`` and ``IA3LoRALinear`` in
    ``autogluon/multimodal/models/adaptation_layers.py`` make them."""
    kind = adapter(peft)
    sizes = []
    for n_in, n_out in adapted_layers(a):
        if kind in {"ia3", "ia3_lora"}:
            sizes.append(n_out)
        if kind in {"lora", "ia3_lora"}:
            sizes += [lora_rank * n_in, n_out * lora_rank]
    return sizes


def t5_block_params(a: Architecture) -> int:
    """Parameters of one T5 block: q, k, v, o, the feed-forward matrices, two layer norms."""
    return (
        4 * a.d * a.inner
        + ((2 if a.gated else 1) + 1) * a.d * a.d_ff
        + 2 * a.d
    )


def fsdp_units(
    a: Architecture, peft: str, lora_rank: int = LORA_RANK
) -> tuple[int, int, int]:
    """Parameters of FSDP's largest block unit, of the unit of the rest, and of what trains
    in the rest (units: one per T5 block, one for everything else)."""
    # the largest block is the first, which holds the relative position bias table
    block = t5_block_params(a) + a.buckets * a.heads
    block += sum(adapter_tensors(a, peft, lora_rank))
    head = 2 * a.d + 2
    # the rest: embedding, final layer norm and head; with PEFT the last two train
    rest = a.vocab * a.d + a.d + head
    return block, rest, rest if peft == "full" else a.d + head


# What decides whether a tensor trains, by kind: "weight" (a matrix, an embedding, T5's
# layer norm: full finetuning only), "bias" (a name with "bias"), "norm" (an
# nn.LayerNorm's weight), "adapter" and "head" (always), "unused" (a BERT pooler: it
# requires gradients and gets none).
def _trains(kind: str, peft: str) -> bool:
    if kind in {"adapter", "head"}:
        return True
    if kind == "unused":
        return False
    if peft == "full":
        return True
    return (kind == "bias" and trains_biases(peft)) or (
        kind == "norm" and trains_norms(peft)
    )


def parameter_tensors(
    a: Architecture,
    peft: str,
    *,
    lora_rank: int = LORA_RANK,
    num_classes: int = 2,
) -> list[tuple[int, bool, str]]:
    """``(elements, trainable, group)`` of every parameter tensor of AutoGluon's model for
    ``a``; they add up to :func:`parameter_counts`.

    ``group`` names the AdamW parameter group the tensor is in when it trains. AutoGluon's
    default ``optim.lr_choice: layerwise_decay`` (``apply_layerwise_lr_decay`` in
    ``autogluon/multimodal/optim/lr/utils.py``) makes one group per layer id and weight
    decay: "decay" for weights (adapters too), "no decay" for biases and ``nn.LayerNorm``
    parameters (``get_weight_decay_param_names``). T5's own layer norm is not an
    ``nn.LayerNorm``, so its weights decay with their block's matrices.
    """
    check_peft(peft, a)
    check_lora_rank(lora_rank)
    head = [
        (a.d * num_classes, "head", "head"),
        (num_classes, "head", "head, no decay"),
    ]
    adapters = [(n, "adapter") for n in adapter_tensors(a, peft, lora_rank)]
    if a.family == "t5":
        matrices = 4 + (2 if a.gated else 1) + 1
        sizes = [a.d * a.inner] * 4 + [a.d * a.d_ff] * (matrices - 4)
        kinds = [
            (a.vocab * a.d, "weight", "embedding"),
            (a.buckets * a.heads, "bias", "position bias, no decay"),
        ]
        for i in range(a.layers):
            block = [(n, "weight") for n in sizes] + [(a.d, "weight")] * 2
            kinds += [(n, k, f"block {i}") for n, k in block + adapters]
        # the final layer norm has the head's layer id
        kinds += [(a.d, "head", "head")] + head
    elif a.family == "deberta-v2":
        kinds = [(a.vocab * a.d, "weight", "embedding")] + _norm(
            a.d, "embedding"
        )
        for i in range(a.layers):
            weights = [(a.d * a.d, "weight")] * 4 + [
                (a.d * a.d_ff, "weight")
            ] * 2
            biases = [(a.d, "bias")] * 4 + [(a.d_ff, "bias"), (a.d, "bias")]
            kinds += [(n, k, f"block {i}") for n, k in weights + adapters]
            kinds += [(n, k, f"block {i}, no decay") for n, k in biases]
            kinds += _norm(a.d, f"block {i}") * 2
        # the relative position embeddings share the word embeddings' layer id
        kinds += [(2 * a.buckets * a.d, "weight", "embedding")]
        kinds += _norm(a.d, "embedding") + head
    else:
        e = a.embedding
        tables = (a.vocab, a.positions, a.token_types)
        kinds = [(rows * e, "weight", "embedding") for rows in tables]
        kinds += _norm(e, "embedding")
        if e != a.d:  # ELECTRA's projection of its narrower embeddings
            kinds += [(e * a.d, "weight", "embedding")]
            kinds += [(a.d, "bias", "embedding, no decay")]
        for i in range(a.layers):
            weights = [(a.d * a.d, "weight")] * 4 + [
                (a.d * a.d_ff, "weight")
            ] * 2
            biases = [(a.d, "bias")] * 4 + [(a.d_ff, "bias"), (a.d, "bias")]
            kinds += [(n, k, f"block {i}") for n, k in weights + adapters]
            kinds += [(n, k, f"block {i}, no decay") for n, k in biases]
            kinds += _norm(a.d, f"block {i}") * 2
        if a.pooler:
            kinds += [
                (a.d * a.d, "unused", "head"),
                (a.d, "unused", "head, no decay"),
            ]
        kinds += head
    return [(n, _trains(kind, peft), group) for n, kind, group in kinds]


def _norm(d: int, layer: str) -> list[tuple[int, str, str]]:
    """An ``nn.LayerNorm``'s weight and bias in ``layer``'s group without weight decay."""
    return [
        (d, "norm", f"{layer}, no decay"),
        (d, "bias", f"{layer}, no decay"),
    ]


def largest_optimizer_group(
    a: Architecture, peft: str, lora_rank: int = LORA_RANK
) -> int:
    """Trainable parameters in AutoGluon's largest AdamW parameter group for ``a``
    (groups as :func:`parameter_tensors` names them)."""
    groups: dict[str, int] = {}
    for elements, trainable, group in parameter_tensors(
        a, peft, lora_rank=lora_rank
    ):
        if trainable:
            groups[group] = groups.get(group, 0) + elements
    return max(groups.values())
