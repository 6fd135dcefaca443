"""Optimizations: how each Advanced-step technique acts on the physics (issue 4).

Each technique maps to what it physically changes; the performance model applies it through
``performance.Tuning``, and nothing here multiplies a result by a constant from the seed.

- Precision (weights, KV, compute separately): bytes per weight and per KV element; the GEMM
  tensor rate (``gemm_rate_scale`` = rate of the compute format / rate of the weights').
- Continuous batching off: static batches. Output lengths are exponential with mean μ (the
  maximum-entropy law for a positive length of known mean; ShareGPT/LMSYS chat output
  lengths are close to geometric), capped at c = max context − prompt. A static batch of B
  runs until its longest request ends: E[min(max of B, c)] = μ Σ_{k=1..B} u^k / k with
  u = 1 − e^(−c/μ) (order statistics of the exponential), while each request only needs
  E[min(X, c)] = μu. Useful fraction of the slots = u / Σ u^k/k (1/H_B uncapped: 21% at
  B = 64). Prompts of a static batch run in passes of their own (``continuous_batching``).
- PagedAttention off: each request reserves ``max_context_tokens`` of KV (contiguous
  pre-allocation as in Orca/FasterTransformer, Kwon et al. 2023 §3). On: KV is held in
  16-token blocks (vLLM ``block_size`` 16), so the only waste is half a block per sequence.
- Prefix caching: prompt tokens computed = prompt − hit × shared (the cached prefix's KV is
  reused; suffix tokens still attend to it, so attention work falls less than GEMM work);
  the shared prefix's KV is held once per replica and not again per request (block sharing,
  vLLM automatic prefix caching / SGLang RadixAttention). Needs paged KV.
- Speculative decoding: expected tokens per target step E = (1 − α^(k+1)) / (1 − α)
  (Leviathan et al. 2023, arXiv 2211.17192, eq. 1); the target verifies k + 1 tokens per
  sequence per step (GEMM and attention FLOPs × (k+1), weight bytes once); the drafter runs
  k passes per step: its weights streamed k times (fixed) and its KV reads and math per
  sequence (grow with the batch). At small batch the target step is weight-streaming bound
  and verifying k+1 tokens is nearly free; at large batch it is compute bound and the
  (k+1)/E extra FLOPs per accepted token make it lose (the sizing warns).
- LoRA: adapter parameters = rank × Σ(d_in + d_out) over the adapted projections × layers,
  kept at 16 bits (PEFT and vLLM keep adapters in the activation dtype); all adapters
  resident; each step streams the adapters in use (all of them, an upper bound at large
  batch; S-LoRA, Sheng et al. 2023; Punica, Chen et al. 2023). Without LoRA each variant
  is a deployment of its own, with its own redundancy (the pipeline sums them).
- KV offload: host memory extends the KV capacity; the share of each sequence's KV that
  lives there streams over the host link every step (an engine only offloads when the GPU
  is full, so the pipeline keeps the better of with and without).
- Disaggregated prefill/decode: decode replicas run decode-only steps (no prompt mixing);
  prefill replicas run prompts, M/D/1 queue; the prompt's KV crosses the fabric
  (prompt × KV bytes/token over the replica's NICs, Vidur PR #80 / DistServe, Zhong et al.
  2024). Pools sized separately.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from xlsizer.catalog.loader import load_catalog
from xlsizer.catalog.schema import GpuSpec, ModelSpec
from xlsizer.engine import memory
from xlsizer.engine.calibration import Calibration
from xlsizer.engine.layers import gathered_embedding_params
from xlsizer.engine.performance import (
    ALLREDUCE_LATENCY_S,
    DEFAULT_TUNING,
    Tuning,
    packaged_calibration,
)
from xlsizer.engine.step import decode_context, sustained_compute_efficiency
from xlsizer.engine.traffic import static_useful_fraction as static_useful_fraction  # the output-length law
from xlsizer.precision import Precision
from xlsizer.resolve import PCIE_GEN5_X16_GB_S
from xlsizer.units import count

PAGE_BLOCK_TOKENS: int = 16
"""Tokens per KV block, vLLM's default ``block_size`` (Kwon et al. 2023, §4.1 and §7.2)."""
ADAPTER_BYTES_PER_PARAM: float = 2.0
"""LoRA adapter storage, bytes per parameter: adapters are kept in the 16-bit activation dtype
(PEFT saves them in the base dtype; vLLM ``lora_dtype='auto'`` = the model dtype, BF16 with
FP8 checkpoints), so a rank-16 adapter of a 70B is ~0.2 GB (seed: 'a few hundred MB')."""
HALF_CONTEXT_WARN: float = 0.5
"""Warn when the average context reaches this share of the max context: the course's red flag
1 (sizing on the max context) — it says most apps use 4-8K of a 32K or 128K maximum
(course.md §7 question 3), i.e. well under half."""
OUTPUT_CAP_WARN: float = 0.01
"""Static batches: warn when at least this share of outputs (exponential, the law above) reach
the cap of max context − prompt, where the cap starts to shorten a batch's longest request and
so its idle slots (a judgement call: 1% of a 64-request batch is about one request in two
batches)."""
SPEC_NOT_PAYING: float = 1.0
"""Warn when speculative decoding's capacity at the sized batch is below this multiple of the
capacity without it (a definition: it costs more than it gives)."""


def expected_tokens_per_step(alpha: float, k: int) -> float:
    """Leviathan et al. (2023) eq. 1: expected tokens a target step yields with k drafts of
    per-token acceptance α: (1 − α^(k+1)) / (1 − α); k + 1 at α = 1."""
    if alpha >= 1.0:
        return float(k + 1)
    return (1.0 - alpha ** (k + 1)) / (1.0 - alpha)


def lora_adapter_params(model: ModelSpec, rank: int) -> float:
    """Parameters of one LoRA adapter on q, k, v, o (and gate, up, down for dense FFNs)."""
    h = model.hidden_size
    q = model.attention_heads * model.head_dim
    kv = model.kv_heads * model.head_dim
    per_layer = (h + q) + 2 * (h + kv) + (q + h)
    if model.moe is None and model.intermediate_size:
        i = model.intermediate_size
        per_layer += 2 * (h + i) + (i + h)
    return float(rank * per_layer * model.layers)


@dataclass(frozen=True, slots=True)
class Draft:
    """The drafter of speculative decoding (a small model or a draft head)."""

    name: str
    params: float
    """Parameters one draft pass multiplies per token (count)."""
    weight_bytes: float
    """Memory the drafter adds to a replica, bytes."""
    layers: int
    kv_bytes_per_token: float
    read_bytes: float | None = None
    """Bytes one draft pass reads (None: ``weight_bytes``; an MTP drafter also reads the
    trunk's output head, which it shares and so adds no memory)."""


@dataclass(frozen=True)
class Effects:
    """What the switched-on optimizations do to one workload (shared by all scenarios)."""

    prefill_tokens: float
    """Prompt tokens computed per request (fewer with prefix-cache hits)."""
    tuning: Tuning = DEFAULT_TUNING
    extra_resident_bytes: float = 0.0
    """Memory per replica held outside the per-request KV (adapters, draft, shared prefix)."""
    batching_efficiency: float = 1.0
    """Kept for callers: 1.0; static batching acts through ``req_s_factor`` (batch-dependent)."""
    explain: list[tuple[Any, ...]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kv_reserved_tokens: float = 0.0
    """KV tokens reserved per request (the memory plan's unit), in target-model KV tokens (the
    drafter's KV included)."""
    kv_reserved_base: float | None = None
    """The same without the drafter's KV (None = prompt + output)."""
    kv_waste_fraction: float = 0.0
    """Share of reserved KV that holds no token at a request's end (fragmentation/reservation)."""
    static_batching: bool = False
    mean_output: float = 0.0
    output_cap: float = math.inf
    draft: Draft | None = None
    spec_k: int = 0
    spec_tokens_per_step: float = 1.0
    adapter_bytes: float = 0.0
    lora_shares: tuple[float, ...] = (1.0,)
    lora_pool: bool = True
    offload_cpu_bytes_per_server: float = 0.0
    host_link_bytes_per_s: float | None = None  # the input's host link, bytes/s one direction; None = the GPU's
    disaggregated: bool = False
    compute_precision: Precision | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    _cache: dict[Any, Tuning] = field(default_factory=dict, compare=False, repr=False)

    def req_s_factor(self, batch: float, prefill_s: float, tpot_s: float) -> float:
        """Requests/s with static batches relative to continuous ones at the same batch: a
        slot is held for the batch's longest request, not for its own."""
        if not self.static_batching:
            return 1.0
        return (prefill_s + self.mean_output * tpot_s) / self.static_cycle_s(batch, prefill_s, tpot_s)

    def static_cycle_s(self, batch: float, prefill_s: float, tpot_s: float) -> float:
        """Seconds a static batch of ``batch`` runs: its prompt, then decode steps until its
        longest answer ends (the mean answer over the share of its slot-steps that produce a
        token, ``static_useful_fraction``)."""
        useful = static_useful_fraction(batch, self.mean_output, self.output_cap)
        return prefill_s + self.mean_output * tpot_s / useful

    def tuning_for(self, gpu: GpuSpec, n: int, run_prec: Precision, spec: bool = True,
                   calibration: Calibration | None = None) -> Tuning:
        """The tuning for one candidate configuration (n GPUs of ``gpu``, GEMMs at ``run_prec``):
        the drafter's and adapters' costs are seconds and bytes per GPU, so they depend on the
        hardware, and on how much of it the engine reaches (``calibration``: a team's profile
        for this GPU; None, the packaged one). ``spec=False``: the same without speculative
        decoding (for its warning)."""
        if self.draft is None and self.compute_precision is None and self.adapter_bytes <= 0.0:
            return self.tuning  # nothing here depends on the hardware
        key = (id(gpu), n, run_prec, spec, calibration)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        t = self.tuning
        upd: dict[str, Any] = {}
        if not spec and self.draft is not None:
            t = replace(t, decode_tokens_per_step=1.0, accepted_tokens_per_step=1.0,
                        kv_reserved_tokens=self.kv_reserved_base)
        cp = self.compute_precision
        if cp is not None:
            want = cp if gpu.supports(cp) else Precision.BF16
            upd["gemm_rate_scale"] = gpu.dense_flops(want) / gpu.dense_flops(run_prec)
        cal = calibration or packaged_calibration()
        bw = gpu.memory_bandwidth_bytes_per_s * cal.bandwidth_efficiency * n
        if self.draft is not None and spec:
            d, k = self.draft, self.spec_k
            peak = gpu.dense_flops(run_prec) * sustained_compute_efficiency(gpu, cal) * n
            # k draft passes per step: stream the drafter's weights, its layers' kernels,
            # its all-reduces when sharded (fixed); per sequence: its KV at the mean context
            # and its math (grow with the batch).
            # (layer_overhead_s: the median of the engines' fitted values; a drafter's few
            # layers make the engine's own value a second-order difference)
            read = d.weight_bytes if d.read_bytes is None else d.read_bytes
            fixed = k * (read / bw + d.layers * cal.layer_overhead_s
                         + (2 * d.layers * ALLREDUCE_LATENCY_S if n > 1 else 0.0))
            per_seq = k * (d.kv_bytes_per_token * self.mean_context / bw + 2.0 * d.params / peak)
            upd["extra_step_s"] = t.extra_step_s + fixed
            upd["extra_step_s_per_seq"] = t.extra_step_s_per_seq + per_seq
        if self.adapter_bytes > 0.0:
            upd["extra_read_bytes_per_step"] = t.extra_read_bytes_per_step + self.adapter_bytes / n
        out = replace(t, **upd) if upd else t
        if len(self._cache) > 512:
            self._cache.clear()
        self._cache[key] = out
        return out

    @property
    def mean_context(self) -> float:
        return float(self.summary.get("_mean_context", 0.0))


def mtp_draft(model: ModelSpec, wb: float, kv_b: float) -> Draft:
    """The model's own multi-token-prediction layers as the drafter (DeepSeek-V3 §2.2, arXiv
    2412.19437: each MTP module is a projection of [hidden; next-token embedding] (2h × h), one
    decoder layer like the trunk's, and the shared output head; engines run it k times per step
    for k draft tokens: SGLang/vLLM/TensorRT-LLM "nextn"/MTP speculative decoding).

    Per draft pass: the MTP layers' math at the trunk's active width per layer plus the
    projection, and the output head's logits (h × vocab; shared with the trunk, so no extra
    memory, but read again each pass); bytes read: the MTP layers (``mtp_params_b``, all
    experts: conservative at small batches) and the head. KV: one layer's per MTP layer.
    ``wb``: weight bytes per parameter; ``kv_b``: KV bytes per element."""
    h, n = model.hidden_size, model.mtp_layers
    head = float(h * model.vocab_size)
    per_layer_active = model.active_params / model.layers  # one trunk layer's active share
    params = n * (per_layer_active + 2.0 * h * h) + head
    weight = model.mtp_params_b * 1e9 * wb
    return Draft(f"{model.id} MTP ({count(n, 'layer')})", params, weight, n,
                 memory.kv_bytes_per_token(model, kv_b) / model.layers * n,
                 read_bytes=weight + head * wb)


def _draft(inp: Any, model: ModelSpec, kv_b: float, wb: float) -> tuple[Draft, list[str]]:
    from xlsizer.catalog.loader import load_catalog

    warn: list[str] = []
    if inp.spec_draft_model:
        d = load_catalog().model(inp.spec_draft_model)  # CatalogError names the id
        if d.total_params >= model.total_params:
            warn.append(f"speculative decoding: draft {d.id} is not smaller than {model.id}")
        return Draft(d.id, d.active_params, d.total_params * wb, d.layers,
                     memory.kv_bytes_per_token(d, kv_b)), warn
    if model.mtp_layers > 0:
        return mtp_draft(model, wb, kv_b), warn
    p = inp.spec_draft_head_params_b * 1e9
    # a draft head (EAGLE: one decoder layer on the target's features) keeps one layer of KV
    return Draft(f"draft head {inp.spec_draft_head_params_b:g}B", p, p * wb, 1,
                 memory.kv_bytes_per_token(model, kv_b) / model.layers), warn


ACTIVE_MATCH_REL: float = 0.02
"""How close (share of the catalog's count) a typed ``active_params_b`` must be to the catalog's
count less the input embedding to be read as a vendor figure that leaves the embedding out:
model cards round to two or three digits (gpt-oss-120b 5.13 B, quoted 5.1 B: 0.6% off)."""


def _active_without_embedding(inp: Any) -> str | None:
    """A warning when a catalog MoE's typed ``active_params_b`` is its catalog count less the
    input embedding: the engine takes the embedding (a row look-up) off itself, so such a figure
    leaves the output head's math out (a model card's habit: gpt-oss-120b 5.1 B against 5.71 B)."""
    typed = getattr(inp, "active_params_b", None)
    if typed is None or str(inp.model).lower() == "custom":
        return None
    spec = load_catalog().model(inp.model)  # the catalog row, before the override
    embed_b = gathered_embedding_params(spec) / 1e9  # 0 when tied: the matrix is the head, kept
    if spec.active_params_b is None or embed_b == 0.0:
        return None
    off = abs(typed - (spec.active_params_b - embed_b))
    if off > ACTIVE_MATCH_REL * spec.active_params_b or off >= abs(typed - spec.active_params_b):
        return None  # not that figure, or nearer the catalog's own (a small vocabulary's embedding)
    return (f"active_params_b {typed:g} B looks like {spec.id}'s count without its input embedding "
            f"({spec.active_params_b:g} - {embed_b:.2f} B), as model cards quote it; xlsizer counts active "
            f"parameters with the embedding and takes that look-up off itself, so this figure drops {embed_b:.2f} B "
            "of output-head math per token: leave active_params_b empty to use the catalog's count")


def effects(inp: Any, model: ModelSpec, prompt_tokens: int, output_tokens: int) -> Effects:
    """The effects of the inputs' optimization settings on one workload."""
    if not hasattr(inp, "continuous_batching"):  # an inputs object without the Advanced fields
        return Effects(prefill_tokens=float(prompt_tokens))
    S = "engine/optimizations.py"
    explain: list[tuple[Any, ...]] = []
    warn: list[str] = []
    summary: dict[str, Any] = {}
    kv_b = inp.kv_precision.bytes_per_element
    wb = inp.precision.bytes_per_element
    kv_tok = memory.kv_bytes_per_token(model, kv_b)
    prompt, out = float(prompt_tokens), float(output_tokens)
    max_ctx = float(inp.max_context_tokens)
    # the context a decoded token attends to, the answers spread as the inputs say (the drafter's
    # KV read per sequence, as the target's: step.decode_context)
    summary["_mean_context"] = decode_context(prompt, out, inp.length_cv)
    resident = 0.0

    # --- precision ---------------------------------------------------------------------------
    cp = None if inp.compute_precision == "auto" else inp.compute_precision
    summary["precision"] = {"weights": inp.precision.value, "kv_cache": inp.kv_precision.value,
                            "compute": cp.value if cp is not None else "auto",
                            "weights_gb": model.total_params * wb / 1e9, "kv_bytes_per_token": kv_tok}

    # --- prefix caching ----------------------------------------------------------------------
    shared = min(float(inp.prefix_shared_tokens), prompt)
    paged = bool(inp.paged_attention)
    hit = inp.prefix_hit_rate if (inp.prefix_caching and paged and shared > 0) else 0.0
    cached = hit * shared
    prefill = prompt - cached
    if inp.prefix_caching and shared > 0 and not paged:
        warn.append("prefix caching needs block-level (paged) KV to share a prefix: with PagedAttention off it "
                    "saves nothing")
    if hit > 0:
        resident += shared * kv_tok
        explain.append(("all", "Prefill tokens computed", prefill, "tokens",
                        "{:,.0f} prompt - {:.0%} hit x {:,.0f} shared", (prompt, hit, shared),
                        f"{S} prefix caching (vLLM automatic prefix caching)"))
    summary["prefix_caching"] = {"on": bool(inp.prefix_caching), "shared_tokens": shared, "hit_rate": hit,
                                 "prefill_tokens": prefill, "prefill_tokens_saved": cached,
                                 "prefix_kv_gb_per_replica": shared * kv_tok / 1e9 if hit > 0 else 0.0}

    # --- KV reservation: PagedAttention --------------------------------------------------------
    if paged:
        reserved = prompt + out - cached
        need = reserved
        waste = (PAGE_BLOCK_TOKENS / 2.0) / (need + PAGE_BLOCK_TOKENS / 2.0)
        kv_reserved = None if cached == 0 else reserved
    else:
        reserved = max(max_ctx, prompt + out)
        waste = 1.0 - (prompt + out) / reserved
        kv_reserved = reserved
        warn.append(f"PagedAttention off: every request reserves KV for {max_ctx:,.0f} tokens and uses "
                    f"{prompt + out:,.0f}: {waste:.0%} of the KV cache is wasted (course red flag: use a serving "
                    "engine with paged KV)")
    explain.append(("all", "KV reserved per request", reserved, "tokens",
                    "prompt + output - shared prefix" if paged else "max context (no paging)", (),
                    f"{S} PagedAttention (Kwon et al. 2023)"))
    summary["paged_attention"] = {"on": paged, "kv_reserved_tokens": reserved, "kv_waste_fraction": waste}

    # --- batching ----------------------------------------------------------------------------
    static = not inp.continuous_batching
    app_cap = max(max_ctx - prompt, 1.0)
    # An average context above the app's max context is a contradiction the answer warns about
    # (below); it is sized as the averages say, as the KV reservation above is (max(max_ctx,
    # prompt + out)), so a static batch's outputs are capped no lower than their mean. Capped at
    # max context - prompt, every request was cut to the same few tokens, a static batch idled no
    # slot, and turning continuous batching on needed more GPUs (qwen3-235b-a22b on H200, 8,000-
    # token prompts at the default 8,000 max context: 128 -> 136), while the decode time each
    # request holds its slot stayed the uncut average.
    cap_out = max(app_cap, out)
    if static:
        warn.append("continuous batching off: static batches run until their longest request ends, so most "
                    "slots idle (course red flag: ask for a serving engine such as vLLM, TRT-LLM or SGLang)")
        cut = math.exp(-cap_out / out)  # share of exponential output lengths beyond the cap
        if out >= app_cap:
            warn.append(f"average output {out:,.0f} tokens is not below max context - prompt = {app_cap:,.0f}: "
                        "every request would be cut at the cap; sized uncut at the average, with static batches' "
                        "outputs capped at it; check the context and output inputs")
        elif cut >= OUTPUT_CAP_WARN:
            warn.append(f"static batches: {cut:.0%} of outputs reach the cap of max context - prompt = "
                        f"{cap_out:,.0f} tokens, which shortens a batch's longest request; a longer prompt under "
                        "the same max context tightens it, so it can need fewer GPUs")
    summary["continuous_batching"] = {"on": not static, "output_length_law": "exponential, mean "
                                      f"{out:g}, capped at {cap_out:g}"}

    # --- speculative decoding ----------------------------------------------------------------
    tuning_kw: dict[str, Any] = {"kv_reserved_tokens": kv_reserved, "continuous_batching": not static}
    draft = None
    e_tok = 1.0
    k = 0
    if inp.speculative_decoding:
        k = int(inp.spec_draft_tokens)
        e_tok = expected_tokens_per_step(inp.spec_acceptance_rate, k)
        draft, w2 = _draft(inp, model, kv_b, wb)
        warn += w2
        resident += draft.weight_bytes
        tuning_kw.update(decode_tokens_per_step=float(k + 1), accepted_tokens_per_step=e_tok)
        if draft.kv_bytes_per_token > 0:  # the drafter keeps KV for every request too
            tuning_kw["kv_reserved_tokens"] = reserved * (1.0 + draft.kv_bytes_per_token / kv_tok)
        explain.append(("all", "Drafter memory", draft.weight_bytes / 1e9, "GB",
                        "{}: held per replica, run {} times per target step", (draft.name, k),
                        "DeepSeek-V3 tech report §2.2 (MTP)" if model.mtp_layers and not inp.spec_draft_model
                        else "draft model or head size (inputs)"))
        explain.append(("all", "Tokens per target step", e_tok, "tokens",
                        "(1 - {:g}^({}+1)) / (1 - {:g}); verify {} tokens per sequence",
                        (inp.spec_acceptance_rate, k, inp.spec_acceptance_rate, k + 1),
                        "Leviathan et al. 2023 (arXiv 2211.17192) eq. 1"))
    summary["speculative_decoding"] = {"on": bool(inp.speculative_decoding), "draft": draft.name if draft else None,
                                       "draft_tokens": k, "tokens_per_step": e_tok,
                                       "draft_gb": draft.weight_bytes / 1e9 if draft else 0.0}

    # --- LoRA --------------------------------------------------------------------------------
    shares = inp.lora_shares
    adapter_bytes = 0.0
    pool = True
    if inp.lora_variants > 1:
        if inp.lora_enabled:
            one = lora_adapter_params(model, inp.lora_rank) * ADAPTER_BYTES_PER_PARAM
            adapter_bytes = one * inp.lora_variants
            resident += adapter_bytes
            explain.append(("all", "LoRA adapters", adapter_bytes / 1e9, "GB",
                            "{} adapters x rank {} x sum(d_in + d_out) x {} layers x 2 B",
                            (inp.lora_variants, inp.lora_rank, model.layers), "Hu et al. 2021; S-LoRA 2023"))
        else:
            pool = False
    summary["lora"] = {"variants": inp.lora_variants, "shared_pool": pool, "adapter_gb": adapter_bytes / 1e9,
                       "traffic_shares": list(shares)}

    # --- KV offload, disaggregation ------------------------------------------------------------
    cpu = inp.cpu_memory_per_server_gb * 1e9 if inp.kv_offload else 0.0
    summary["kv_offload"] = {"on": bool(inp.kv_offload), "cpu_gb_per_server": cpu / 1e9,
                             "host_link_gb_s": inp.host_link_gb_s}  # None: each GPU's own
    summary["disaggregated"] = {"on": bool(inp.disaggregated)}

    # --- red flags ------------------------------------------------------------------------------
    if prompt + out > max_ctx > 0:
        warn.append(f"average context {prompt + out:,.0f} tokens (prompt + output) exceeds the max context "
                    f"{max_ctx:,.0f} the app allows: the average request would be cut; raise max_context_tokens "
                    "to the longest context your app serves (it sets the worst-case KV check and, with paging "
                    "or continuous batching off, each request's reservation and the output cap)")
    elif prompt + out >= HALF_CONTEXT_WARN * max_ctx and max_ctx > 0:
        warn.append(f"average context {prompt + out:,.0f} tokens is at least half the max context "
                    f"({max_ctx:,.0f}): size on the average, not the maximum (course red flag 1: over-provisions 3x+)")
    without = _active_without_embedding(inp)
    if without is not None:
        warn.append(without)

    tun = replace(DEFAULT_TUNING, **tuning_kw) if any(
        v != getattr(DEFAULT_TUNING, kk) for kk, v in tuning_kw.items()) else DEFAULT_TUNING
    if tun.extra_resident_bytes != 0.0:  # (a dataclass replace is costly: only when it changes something)
        tun = replace(tun, extra_resident_bytes=0.0)
    return Effects(
        prefill_tokens=prefill, tuning=tun, extra_resident_bytes=resident, explain=explain, warnings=warn,
        kv_reserved_tokens=tuning_kw.get("kv_reserved_tokens") or (prompt + out), kv_reserved_base=kv_reserved,
        kv_waste_fraction=waste,
        static_batching=static, mean_output=out, output_cap=cap_out, draft=draft, spec_k=k,
        spec_tokens_per_step=e_tok, adapter_bytes=adapter_bytes, lora_shares=shares, lora_pool=pool,
        offload_cpu_bytes_per_server=cpu,
        host_link_bytes_per_s=None if inp.host_link_gb_s is None else inp.host_link_gb_s * 1e9,
        disaggregated=bool(inp.disaggregated), compute_precision=cp, summary=summary,
    )


HOST_LINK_FALLBACK_GB_S: float = PCIE_GEN5_X16_GB_S / 2.0
"""Link to host memory per GPU, GB/s one direction, where neither the input nor the GPU's
catalog row states one (a custom GPU, a TPU): PCIe Gen5 x16, 64 GB/s each way (half of
``resolve.PCIE_GEN5_X16_GB_S``), the host interface of the catalog's current data-center
GPUs but the Grace superchips' NVLink-C2C."""


def host_link_bytes_per_s(fx: Effects, gpu: GpuSpec) -> float:
    """Bytes/s per GPU, one direction, that offloaded KV streams over on ``gpu``: the input's
    host_link_gb_s where given, else the GPU's own (``GpuSpec.host_link_gb_s``: its PCIe slot,
    or NVLink-C2C to a Grace CPU), else ``HOST_LINK_FALLBACK_GB_S``."""
    if fx.host_link_bytes_per_s is not None:
        return fx.host_link_bytes_per_s
    own = gpu.host_link_bytes_per_s
    return own if own is not None else HOST_LINK_FALLBACK_GB_S * 1e9


def kv_transfer_s(prompt_tokens: float, kv_bytes_per_token: float, gpus: int, nic_bytes_per_s: float) -> float:
    """Seconds to move one prompt's KV from a prefill replica to a decode replica: each GPU
    sends its shard over its own NIC, ``nic_bytes_per_s`` one direction (the GPU's scale-out
    link, ``step.scaleout_bytes_per_s``)."""
    return prompt_tokens * kv_bytes_per_token / (gpus * nic_bytes_per_s)
