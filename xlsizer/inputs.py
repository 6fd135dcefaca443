"""The Sizer's inputs (course.md §10.1) as one validated, frozen pydantic model.

Field metadata (``json_schema_extra``) carries what the template and the docs show: the
wizard step, the unit, who owns the decision (course.md §7) and what the input moves.
Defaults are the course Sizer's; where xlsizer departs from one, the field says why.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from xlsizer.catalog.loader import read_data_file
from xlsizer.errors import InputError, UnknownInputError
from xlsizer.precision import Precision, default_kv_precision, parse_precision

APP = "Application owner"
AI = "AI team"
IT = "IT team"
FIN = "Finance"

MAX_DEPLOYMENT_GPUS = 10_000_000
"""GPUs, the most ``max_total_gpus`` may allow: 50-100x the largest single clusters built by 2025
(100,000-200,000 GPUs). Measurement files hold their counts to it too (validation.py)."""


class WorkloadType(StrEnum):
    INTERACTIVE_CHAT = "interactive_chat"
    CODE_COMPLETION = "code_completion"
    RAG = "rag"
    BATCH = "batch"
    AGENTIC = "agentic"


class Redundancy(StrEnum):
    N = "N"
    N1 = "N+1"
    N2 = "N+2"

    @property
    def offset(self) -> int:
        return {"N": 0, "N+1": 1, "N+2": 2}[self.value]


class Engine(StrEnum):
    VLLM = "vllm"
    TRT_LLM = "trt-llm"
    TRITON = "triton"
    SGLANG = "sglang"


class ThroughputSource(StrEnum):
    ROOFLINE = "roofline"
    COURSE_TABLE = "course-table"


_ENGINE_ALIASES = {"tensorrt-llm": "trt-llm", "tensorrt": "trt-llm", "trtllm": "trt-llm", "trt": "trt-llm"}


def _meta(step: str, unit: str, owner: str, moves: str, **extra: Any) -> dict[str, Any]:
    return {"step": step, "unit": unit, "owner": owner, "moves": moves, **extra}


def F(default: Any, description: str, *, step: str, unit: str = "", owner: str, moves: str, **kw: Any) -> Any:
    """A Field with the template metadata attached (``choices``: the values allowed, in words)."""
    extra = {"choices": kw.pop("choices")} if "choices" in kw else {}
    return Field(default, description=description, json_schema_extra=_meta(step, unit, owner, moves, **extra),
                 **kw)


class SizingInputs(BaseModel):
    """Everything the Sizer needs. Unknown fields are rejected; values are range-checked."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    # --- Step 1: workload ---------------------------------------------------------------
    workload_type: WorkloadType = F(
        WorkloadType.RAG, "Kind of application; its preset fills the TTFT/TPOT targets left empty.",
        step="1 Workload", owner=APP, moves="latency targets (presets)")

    # --- Step 2: model ------------------------------------------------------------------
    model: str = F(
        "llama-3.3-70b", "Catalog model id (see LLM_MODELS) or 'custom' with the fields below.",
        step="2 Model", owner=AI, moves="weights, KV per token, FLOPs per token")
    parameter_count_b: float | None = F(
        None, "Total parameters; empty = the catalog's figure. Required for a custom model.",
        step="2 Model", unit="billion", owner=AI, moves="weight memory, bandwidth", ge=0.1, le=2000)
    model_architecture: Literal["dense", "gqa", "moe", "mla"] | None = F(
        None, "dense (MHA), gqa, moe or mla; empty = the catalog's. Required for a custom model.",
        step="2 Model", owner=AI, moves="KV per token, active parameters")
    active_params_b: float | None = F(
        None, "Parameters used per token (MoE), input embedding included as for a dense model (OpenAI's "
        "5.13 B for gpt-oss-120b leaves it out: 5.71 B); empty = the catalog's, or all for dense.",
        step="2 Model", unit="billion", owner=AI, moves="bandwidth and FLOPs per token", ge=0.1, le=2000)
    num_layers: int | None = F(
        None, "Transformer layers (custom model).", step="2 Model", owner=AI,
        moves="KV per token", ge=1, le=1000)
    num_kv_heads: int | None = F(
        None, "Key/value heads (custom model; = attention heads for dense MHA).",
        step="2 Model", owner=AI, moves="KV per token", ge=1, le=1024)
    head_dim: int | None = F(
        None, "Attention head dimension (custom model).", step="2 Model", owner=AI,
        moves="KV per token", ge=8, le=1024)
    precision: Precision = F(
        Precision.FP8, "Weight precision (the 2026 baseline is FP8 on Hopper/Blackwell); fp4 on a MoE holds "
        "its routed experts in 4 bits and its attention and head as released.",
        step="2 Model", owner=AI, moves="weight memory, bandwidth, which GPUs qualify")
    kv_cache_dtype: Precision | Literal["auto"] = F(
        "auto", "KV-cache precision; 'auto' follows the weight precision (course sizing-math.md; INT4 "
        "weights keep BF16 KV, FP4 weights FP8 KV). "
        "The course UI defaults to FP16 here, which its own worked example does not use.",
        step="2 Model", owner=AI, moves="KV memory")

    # --- Step 3: traffic ----------------------------------------------------------------
    concurrent_users: float = F(
        80, "Active users at peak (not registered users).", step="3 Traffic", unit="users",
        owner=APP, moves="in-flight requests, replicas", ge=1, le=100_000)
    requests_per_user_per_minute: float = F(
        2, "Requests each active user sends per minute (chat 1-4, agents 10+).", step="3 Traffic",
        unit="req/min", owner=APP, moves="RPS, replicas", ge=0.1, le=60)
    avg_prompt_tokens: int = F(
        2000, "Average prompt length (RAG/agentic 2k-8k).", step="3 Traffic", unit="tokens",
        owner=AI, moves="KV per request, prefill work", ge=16, le=200_000)
    avg_output_tokens: int | None = F(
        None, "Average output length; empty = 500, or the model's default for reasoning models "
        "(DeepSeek-R1 8,000; QwQ 6,000).", step="3 Traffic", unit="tokens", owner=AI,
        moves="KV per request, decode time", ge=16, le=32_000)
    max_context_tokens: int = F(
        8000, "Longest context the app allows; a guardrail, not the sizing basis.",
        step="3 Traffic", unit="tokens", owner=AI, moves="worst-case KV warning", ge=256, le=1_000_000)
    length_cv: float = F(
        0.0, "How much prompt and answer lengths vary around their averages: standard deviation / mean "
        "(0 = every request at the averages, as serving benchmarks run; 1 = as varied as an exponential "
        "spread; read it off your logs). Long prompts set the tail of TTFT, short answers the tail of "
        "TPOT, and long answers the attention of every step (they carry more tokens, each at a longer "
        "context).", step="3 Traffic", unit="x", owner=APP,
        moves="TTFT and TPOT percentiles, attention per step, replicas",
        ge=0, le=4)

    # --- Step 4: SLOs -------------------------------------------------------------------
    target_ttft_ms: float | None = F(
        None, "Time to first token target; empty = the workload preset.", step="4 SLOs",
        unit="ms", owner=APP, moves="prefill headroom, batch size", ge=50, le=10_000)
    target_tpot_ms: float | None = F(
        None, "Time per output token target; empty = the workload preset.", step="4 SLOs",
        unit="ms", owner=APP, moves="bandwidth need, batch size, GPU class", ge=5, le=1000)
    slo_percentile: float = F(
        95, "Share of requests that must meet both targets, in percent: 50 = the median, 90, 95, 99 or "
        "99.9 (MLPerf judges p99; 'p99' and '99%' read as 99). Default p95, the level most serving SLOs "
        "quote.", step="4 SLOs",
        unit="%", owner=APP, moves="batch size, replicas", choices=("50", "90", "95", "99", "99.9"))
    arrivals: Literal["poisson", "bursty", "closed"] = F(
        "poisson", "How requests arrive: poisson (independent users), bursty (more clustered than "
        "random; give arrival_scv) or closed (a fixed set of clients, each sending its next request when "
        "its answer ends, as benchmarks run).", step="4 SLOs", owner=APP, moves="queueing, batch spread",
        choices=("poisson", "bursty", "closed"))
    arrival_scv: float | None = F(
        None, "Bursty arrivals only: squared coefficient of variation of the time between requests "
        "(1 = Poisson; 4 = gaps twice as variable). Needed when arrivals is bursty.", step="4 SLOs",
        unit="x", owner=APP, moves="queueing, batch spread", gt=1, le=100)

    # --- Step 5: reliability --------------------------------------------------------------
    burst_factor: float = F(
        3.0, "Peak / average traffic (course UI default 3).", step="5 Reliability", unit="x",
        owner=APP, moves="in-flight requests, replicas", ge=1, le=10)
    redundancy_mode: Redundancy = F(
        Redundancy.N1, "Spare replicas: N, N+1 or N+2.", step="5 Reliability", owner=APP,
        moves="replicas, minimum servers")
    serving_engine: Engine = F(
        Engine.VLLM, "Serving engine.", step="5 Reliability", owner=AI,
        moves="throughput per replica")
    gpu: str = F(
        "auto", "'auto' (cheapest adequate of the course's search list) or a catalog GPU id.",
        step="5 Reliability", owner=IT, moves="everything downstream")

    # --- Step 6: advanced (course toggles; issue 4 extends) -----------------------------
    throughput_source: ThroughputSource = F(
        ThroughputSource.ROOFLINE, "Where capacity per replica comes from: 'roofline' (physics, calibrated on "
        "published measurements) or 'course-table' (the course Sizer's lookup table, to reproduce its answers).",
        step="6 Advanced", owner=AI, moves="replicas")
    throughput_override: float | None = F(
        None, "Measured output+input tokens/s per replica; replaces the model's figure.",
        step="6 Advanced", unit="tok/s", owner=AI, moves="replicas", ge=1, le=10_000_000)
    calibration_profile: str | None = F(
        None, "A calibration profile written by `xlsizer calibrate` from the team's own benchmark runs (path "
        "to its YAML file); empty = the packaged fit. Used where the sizing runs the profile's model, GPU and "
        "engine; partly used for another model on that GPU and engine; ignored otherwise.",
        step="6 Advanced", owner=AI, moves="throughput per replica, TTFT, confidence band", max_length=1000)
    prefix_caching: bool = F(
        True, "Reuse the KV of a shared prompt prefix.", step="6 Advanced", owner=AI,
        moves="prefill work, TTFT (roofline model)")
    speculative_decoding: bool = F(
        False, "Draft-and-verify decoding.", step="6 Advanced", owner=AI,
        moves="TPOT, throughput, VRAM")
    kv_offload: bool = F(
        False, "Offload KV cache to CPU memory: the part of the batch's KV that does not fit on the GPUs lives "
        "in host memory and streams over the host link every decode step.", step="6 Advanced", owner=AI,
        moves="KV capacity, TPOT, server RAM (roofline model)")

    # --- Step 6: optimizations (issue 4; physics in engine/optimizations.py) -------------------
    compute_precision: Precision | Literal["auto"] = F(
        "auto", "Format the GEMMs multiply at; 'auto' = the weights' own where the GPU has it, else BF16. "
        "bf16 with fp8 weights = weight-only quantization (W8A16).", step="6 Advanced", owner=AI,
        moves="prefill time, compute-bound decode")
    continuous_batching: bool = F(
        True, "Replace each finished request at once (vLLM, TRT-LLM, SGLang, TGI). FALSE = static batches that "
        "run until their longest request ends (exponential output lengths).", step="6 Advanced", owner=AI,
        moves="useful fraction of each batch, throughput")
    paged_attention: bool = F(
        True, "Allocate the KV cache in 16-token blocks as it grows. FALSE = reserve max_context_tokens of KV "
        "per request.", step="6 Advanced", owner=AI, moves="KV per request, concurrent requests")
    spec_acceptance_rate: float = F(
        0.7, "Probability the target model accepts each draft token (Leviathan et al. 2023 alpha, one rate for "
        "every draft). 0.7 sits below DeepSeek-V3's 0.85-0.90 for its MTP module's first draft (tech report "
        "§5.4.3) because later drafts of a chain are accepted less often; measure it on your traffic.",
        step="6 Advanced", owner=AI, moves="tokens per decode step (speculative decoding)", ge=0.0, le=0.99)
    spec_draft_tokens: int = F(
        3, "Draft tokens proposed per step (vLLM num_speculative_tokens); 3 as MLPerf Inference's DeepSeek-R1 "
        "benchmark standardises it.", step="6 Advanced", unit="tokens",
        owner=AI, moves="tokens per step, verify and draft cost", ge=1, le=16)
    spec_draft_model: str = F(
        "", "Catalog id of the draft model (e.g. llama-3.1-8b for a 70B); empty = the model's own "
        "multi-token-prediction layers where it ships them (DeepSeek-V3/R1, GLM-5, Qwen3.5), else a draft "
        "head of spec_draft_head_params_b.", step="6 Advanced", owner=AI, moves="draft memory and time per step")
    spec_draft_head_params_b: float = F(
        0.5, "Size of a draft head (EAGLE/Medusa-style) when no draft model is named and the model ships "
        "no multi-token-prediction layers (EAGLE head for a 70B: ~1 decoder layer, ~0.5-1 B).",
        step="6 Advanced", unit="billion", owner=AI,
        moves="draft memory and time per step", ge=0.0, le=100)
    prefix_shared_tokens: int = F(
        0, "Prompt tokens every request shares (system prompt, tool definitions, RAG template).",
        step="6 Advanced", unit="tokens", owner=AI, moves="prefill work, TTFT, KV per request (prefix caching)",
        ge=0, le=200_000)
    prefix_hit_rate: float = F(
        0.9, "Share of requests whose shared prefix is still cached when they arrive.", step="6 Advanced",
        owner=AI, moves="prefill work, TTFT (prefix caching)", ge=0.0, le=1.0)
    lora_variants: int = F(
        1, "Fine-tuned variants of the model served (1 = none).", step="6 Advanced", unit="variants", owner=AI,
        moves="deployments (without LoRA), adapter memory (with LoRA)", ge=1, le=1000)
    lora_enabled: bool = F(
        True, "Serve the variants as LoRA adapters on one shared deployment; FALSE = each variant is its own "
        "deployment with its own redundancy.", step="6 Advanced", owner=AI, moves="replicas, GPUs, servers")
    lora_rank: int = F(
        16, "LoRA adapter rank (applied to the attention and MLP projections).", step="6 Advanced", owner=AI,
        moves="adapter memory and reads", ge=1, le=1024)
    lora_traffic_split: str = F(
        "equal", "Traffic share of each variant: 'equal' or comma-separated shares (e.g. 50,30,20).",
        step="6 Advanced", owner=APP, moves="per-variant deployments (without LoRA)", min_length=1, max_length=4000)
    cpu_memory_per_server_gb: float = F(
        1024, "Host memory per server usable for offloaded KV (defaults.yaml server_spec large: 1,024 GB).",
        step="6 Advanced", unit="GB", owner=IT, moves="KV capacity (KV offload)", gt=0, le=100_000)
    host_link_gb_s: float | None = F(
        None, "Host-to-GPU bandwidth per GPU, one direction; empty = the GPU's own link in the catalog (PCIe "
        "Gen4 x16: 32, Gen5 x16: 64, GH200/GB200 NVLink-C2C: 450), 64 where it states none.",
        step="6 Advanced", unit="GB/s", owner=IT, moves="TPOT with offloaded KV", gt=0, le=10_000)
    disaggregated: bool = F(
        False, "Separate prefill and decode pools (DistServe, Splitwise, Dynamo); the prompt's KV moves over "
        "the fabric.", step="6 Advanced", owner=AI, moves="pool sizes, TTFT")

    # --- Custom GPU (gpu='custom') --------------------------------------------------------
    gpu_memory_gb: float | None = F(None, "Custom GPU memory.", step="Custom GPU", unit="GB",
                                    owner=IT, moves="fit", gt=0, le=10_000)
    gpu_bandwidth_tb_s: float | None = F(None, "Custom GPU memory bandwidth.", step="Custom GPU",
                                         unit="TB/s", owner=IT, moves="TPOT", gt=0, le=1000)
    gpu_bf16_tflops: float | None = F(None, "Custom GPU dense BF16 TFLOPS.", step="Custom GPU",
                                      unit="TFLOPS", owner=IT, moves="prefill", gt=0, le=1e6)
    gpu_fp8_tflops: float | None = F(None, "Custom GPU dense FP8 TFLOPS; empty = no FP8.",
                                     step="Custom GPU", unit="TFLOPS", owner=IT, moves="precision gate",
                                     gt=0, le=1e6)
    gpu_fp4_tflops: float | None = F(None, "Custom GPU dense FP4 TFLOPS; empty = no FP4.",
                                     step="Custom GPU", unit="TFLOPS", owner=IT, moves="precision gate",
                                     gt=0, le=1e6)
    gpu_int8_tops: float | None = F(None, "Custom GPU dense INT8 TOPS; empty = no INT8.",
                                    step="Custom GPU", unit="TOPS", owner=IT, moves="precision gate",
                                    gt=0, le=1e6)
    gpu_tdp_w: float | None = F(None, "Custom GPU board power.", step="Custom GPU", unit="W",
                                owner=IT, moves="power", gt=0, le=10_000)
    gpu_per_node: int | None = F(None, "Custom GPUs per server.", step="Custom GPU", unit="GPUs",
                                 owner=IT, moves="servers", ge=1, le=72)
    gpu_interconnect_gb_s: float | None = F(
        None, "Custom GPU scale-up bandwidth per GPU, bidirectional; empty = PCIe Gen5 (128).",
        step="Custom GPU", unit="GB/s", owner=IT, moves="tensor-parallel cost", gt=0, le=100_000)

    # --- Step 8: costs (issue 5; formulas in engine/cost.py, defaults in defaults.yaml cost) ---
    pricing_model: Literal["cloud", "on-prem"] = F(
        "cloud", "cloud (rent GPUs by the hour) or on-prem (buy GPUs and servers).", step="8 Costs",
        owner=FIN, moves="cost")
    cloud_price_per_gpu_hour: float | None = F(
        None, "Cloud price per GPU-hour, power and facility included; empty = the catalog's typical price "
        "for the chosen GPU.", step="8 Costs", unit="currency/GPU-hour", owner=FIN, moves="cost (cloud)",
        gt=0, le=1000)
    gpu_purchase_price: float | None = F(
        None, "Purchase price of one GPU; empty = the catalog's typical price.", step="8 Costs",
        unit="currency/GPU", owner=FIN, moves="capex (on-prem)", gt=0, le=10_000_000)
    server_purchase_price: float | None = F(
        None, "Price of one server WITHOUT its GPUs (CPUs, memory, NVMe, NICs, chassis); empty = a "
        "default by server class (8-GPU 90,000; 2-4 GPUs 30,000; 1 GPU 15,000).", step="8 Costs",
        unit="currency/server", owner=FIN, moves="capex (on-prem)", gt=0, le=100_000_000)
    amortization_years: float | None = F(
        None, "Straight-line amortization period; empty = 4 years.", step="8 Costs", unit="years",
        owner=FIN, moves="monthly compute cost (on-prem)", ge=1, le=15)
    maintenance_pct_per_year: float | None = F(
        None, "Hardware support per year as a % of capex; empty = 10 %.", step="8 Costs", unit="%/year",
        owner=FIN, moves="monthly maintenance (on-prem)", ge=0, le=100)
    electricity_price_per_kwh: float | None = F(
        None, "Electricity price; empty = 0.09 (EIA 2023, Virginia commercial).", step="8 Costs",
        unit="currency/kWh", owner=FIN, moves="monthly power (on-prem)", gt=0, le=10)
    pue_override: float | None = F(
        None, "Your facility's PUE, for facility power and the power bill; empty = the cooling tier's PUE.",
        step="8 Costs", owner=IT, moves="facility power, monthly power (on-prem)", ge=1.0, le=3.0)
    colocation_price_per_kw_month: float | None = F(
        None, "Colocation rent per kW of IT load per month (power billed separately); empty = none "
        "(own data center).", step="8 Costs", unit="currency/kW-month", owner=FIN,
        moves="monthly facility (on-prem)", gt=0, le=10_000)
    hours_per_month: float = F(
        730.0, "Hours billed or powered per month (8,760 / 12).", step="8 Costs", unit="h",
        owner=FIN, moves="monthly cost", gt=0, le=744)
    expected_utilization: float | None = F(
        None, "Average load relative to the peak (users x rpm x burst); empty = 1 / burst factor. "
        "Sets the tokens served per month, so the cost per token.", step="8 Costs", owner=FIN,
        moves="cost per token", gt=0, le=1)
    api_price_per_million_tokens: float | None = F(
        None, "API price per million tokens (input and output) to compare against; empty = 0.88 "
        "(Together AI, Llama 3.x 70B).", step="8 Costs", unit="currency/M tokens", owner=FIN,
        moves="break-even", gt=0, le=1000)
    currency: str = F(
        "USD", "Currency label shown with the numbers (no conversion).", step="8 Costs", owner=FIN,
        moves="labels only", min_length=1, max_length=12)

    @field_validator("slo_percentile", mode="before")
    @classmethod
    def _percentile_text(cls, v: Any) -> Any:
        """A percentile as planners and benchmarks write it: "p99", "P95", "99%", "p99.9"."""
        if isinstance(v, str):
            k = v.strip()
            k = k[1:] if k[:1] in ("p", "P") else k
            return k[:-1].strip() if k.endswith("%") else k
        return v

    @field_validator("slo_percentile", mode="after")
    @classmethod
    def _percentile(cls, v: float) -> float:
        from xlsizer.engine.latency import check_percentile

        return check_percentile(v)

    @field_validator("arrivals", mode="before")
    @classmethod
    def _arrivals(cls, v: Any) -> Any:
        if isinstance(v, str):
            k = v.strip().lower()
            if k not in ("poisson", "bursty", "closed"):
                raise InputError("arrivals", v, "one of poisson, bursty, closed")
            return k
        return v

    @field_validator("pricing_model", mode="before")
    @classmethod
    def _pricing_model(cls, v: Any) -> Any:
        if isinstance(v, str):
            k = v.strip().lower().replace("_", "-").replace(" ", "-")
            k = {"onprem": "on-prem", "on-premise": "on-prem", "on-premises": "on-prem"}.get(k, k)
            if k not in ("cloud", "on-prem"):
                raise InputError("pricing_model", v, "one of cloud, on-prem")
            return k
        return v

    @field_validator("cloud_price_per_gpu_hour", "gpu_purchase_price", "server_purchase_price",
                     "electricity_price_per_kwh", "colocation_price_per_kw_month", "hours_per_month",
                     "api_price_per_million_tokens", "expected_utilization", mode="before")
    @classmethod
    def _cost_positive(cls, v: Any, info: Any) -> Any:
        try:
            x = float(v) if v is not None and not isinstance(v, bool) else None
        except (TypeError, ValueError):
            return v  # pydantic reports the type error
        except OverflowError:  # an integer past a float's range (a JSON project's 1 followed by 400 zeros)
            raise InputError(info.field_name, v, "a finite number") from None
        if info.field_name == "expected_utilization":
            if x is not None and not 0.0 < x <= 1.0:
                raise InputError("expected_utilization", v, "greater than 0 and at most 1",
                                 "average load as a fraction of the peak")
        elif x is not None and x <= 0.0:
            raise InputError(info.field_name, v, "greater than 0", "a price or period of zero or less is not valid")
        return v

    # --- Facility ---------------------------------------------------------------------------
    rack_power_limit_kw: float = F(
        80.0, "Power a rack can take; racks are packed up to it (course: toward 80 kW).",
        step="7 Facility", unit="kW", owner=IT, moves="racks, cooling tier, PUE", ge=2, le=300)
    max_total_gpus: int = F(
        100_000, "Largest deployment xlsizer returns as a plan; above it the sizing is refused as a mistake "
        "(the largest single clusters built by 2025 hold 100,000-200,000 GPUs, e.g. xAI Colossus).",
        step="7 Facility", unit="GPUs", owner=IT, moves="refuses absurd plans", ge=1, le=MAX_DEPLOYMENT_GPUS)

    # ------------------------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        """TRUE/FALSE is not a number: pydantic would read TRUE as 1 (one user, one layer)."""
        if isinstance(data, dict):
            for k, v in data.items():
                if isinstance(v, bool) and k in NUMERIC_FIELDS:
                    raise InputError(k, v, _allowed(k), "TRUE/FALSE is not a number")
        return data

    @field_validator("model", "gpu", mode="before")
    @classmethod
    def _strip_id(cls, v: Any) -> Any:
        return v.strip() if isinstance(v, str) else v

    @field_validator("calibration_profile", mode="before")
    @classmethod
    def _profile_path(cls, v: Any) -> Any:
        return (v.strip() or None) if isinstance(v, str) else v

    @field_validator("precision", mode="before")
    @classmethod
    def _precision(cls, v: Any) -> Any:
        return parse_precision(v) if isinstance(v, str) else v

    @field_validator("compute_precision", mode="before")
    @classmethod
    def _compute_precision(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and v.strip().lower() in ("auto", "")):
            return "auto"
        return parse_precision(v) if isinstance(v, str) else v

    @field_validator("spec_draft_model", mode="before")
    @classmethod
    def _draft(cls, v: Any) -> Any:
        return "" if v is None else (v.strip() if isinstance(v, str) else v)

    @field_validator("lora_traffic_split", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and v.strip() == ""):
            return "equal"
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            try:
                v = f"{v:g}"
            except OverflowError:  # an integer past a float's range
                raise InputError("lora_traffic_split", v, "'equal' or comma-separated positive shares") from None
        if isinstance(v, str):
            k = v.strip().lower()
            if k == "equal":
                return k
            try:
                shares = [float(x) for x in k.replace(";", ",").split(",") if x.strip()]
            except ValueError:
                shares = []
            if not shares or any(not (x > 0) or x == float("inf") for x in shares):
                raise InputError("lora_traffic_split", v, "'equal' or comma-separated positive shares")
            return ",".join(f"{x:g}" for x in shares)
        return v

    @field_validator("kv_cache_dtype", mode="before")
    @classmethod
    def _kv_precision(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() in ("auto", ""):
            return "auto"
        return parse_precision(v) if isinstance(v, str) else v

    @field_validator("serving_engine", mode="before")
    @classmethod
    def _engine(cls, v: Any) -> Any:
        if isinstance(v, str):
            k = v.strip().lower().replace("_", "-").replace(" ", "-")
            return _ENGINE_ALIASES.get(k, k)
        return v

    @field_validator("workload_type", "redundancy_mode", "throughput_source", mode="before")
    @classmethod
    def _enum_text(cls, v: Any) -> Any:
        if isinstance(v, str):
            k = v.strip()
            return k.upper().replace(" ", "") if k.upper().startswith("N") else k.lower().replace(" ", "_")
        return v

    @model_validator(mode="before")
    @classmethod
    def _thousands(cls, data: Any) -> Any:
        """Numbers typed with thousands separators are read as numbers (issue 14): "1,000",
        "1 000" (also with a no-break or narrow no-break space) and "12,500.5". Only whole groups
        of three digits with one kind of separator count, so "1,5" (a decimal comma) and "1,00"
        stay errors rather than being guessed. Applies to every text value of a numeric input:
        the CLI's --set, JSON files and workbook cells."""
        if not isinstance(data, dict):
            return data
        out = None
        for k, v in data.items():
            if isinstance(v, str) and k in NUMERIC_FIELDS:
                plain = ungroup(k, v, _allowed(k))
                if plain != v:
                    out = out if out is not None else dict(data)
                    out[k] = plain
        return out if out is not None else data

    @model_validator(mode="after")
    def _custom_complete(self) -> SizingInputs:
        if self.model.lower() == "custom":
            missing = [f for f in ("parameter_count_b", "model_architecture", "num_layers",
                                   "num_kv_heads", "head_dim") if getattr(self, f) is None]
            if self.model_architecture == "moe" and self.active_params_b is None:
                missing.append("active_params_b")
            if missing:
                raise InputError("model", "custom", "a catalog id, or 'custom' with all of its fields",
                                 f"missing {', '.join(missing)}")
        if self.gpu.lower() == "custom":
            missing = [f for f in ("gpu_memory_gb", "gpu_bandwidth_tb_s", "gpu_bf16_tflops", "gpu_tdp_w")
                       if getattr(self, f) is None]
            if missing:
                raise InputError("gpu", "custom", "'auto', a catalog id, or 'custom' with its fields",
                                 f"missing {', '.join(missing)}")
        if self.arrivals == "bursty" and self.arrival_scv is None:
            raise InputError("arrival_scv", None, "a number above 1 and at most 100 when arrivals is bursty",
                             "the squared coefficient of variation of the time between requests")
        if self.lora_traffic_split != "equal":
            n = len(self.lora_traffic_split.split(","))
            if n != self.lora_variants:
                raise InputError("lora_traffic_split", self.lora_traffic_split,
                                 f"'equal' or {self.lora_variants} shares (one per variant in lora_variants)")
        if (self.active_params_b is not None and self.parameter_count_b is not None
                and self.active_params_b > self.parameter_count_b):
            raise InputError("active_params_b", self.active_params_b,
                             f"at most parameter_count_b ({self.parameter_count_b:g})")
        return self

    # --- derived, read by the engine -------------------------------------------------------
    @property
    def kv_precision(self) -> Precision:
        """The KV-cache precision after resolving 'auto'."""
        if self.kv_cache_dtype == "auto":
            return default_kv_precision(self.precision)
        return self.kv_cache_dtype  # type: ignore[return-value]

    @property
    def lora_shares(self) -> tuple[float, ...]:
        """Traffic share of each fine-tuned variant (sums to 1)."""
        if self.lora_traffic_split == "equal":
            return (1.0 / self.lora_variants,) * self.lora_variants
        raw = [float(x) for x in self.lora_traffic_split.split(",")]
        tot = sum(raw)
        return tuple(x / tot for x in raw)

    @property
    def arrival_process(self) -> Any:
        """The arrivals as the engine takes them (``engine.latency.Arrivals``)."""
        from xlsizer.engine.latency import arrivals

        return arrivals(self.arrivals, self.arrival_scv, self.length_cv)

    @property
    def ttft_ms(self) -> float:
        """TTFT target after applying the workload preset."""
        return self.target_ttft_ms if self.target_ttft_ms is not None else PRESETS[self.workload_type]["target_ttft_ms"]

    @property
    def tpot_ms(self) -> float:
        """TPOT target after applying the workload preset."""
        return self.target_tpot_ms if self.target_tpot_ms is not None else PRESETS[self.workload_type]["target_tpot_ms"]


PRESETS: dict[str, dict[str, float]] = read_data_file("defaults.yaml")["workload_presets"]

FIELD_NAMES: tuple[str, ...] = tuple(SizingInputs.model_fields)
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:(?:,\d{3})+|(?:[ \u00a0\u202f]\d{3})+)(?:\.\d+)?")
_SEPARATORS = re.compile(r"[,\s\u00a0\u202f]")
_SPACED = re.compile(r"\d[ \u00a0\u202f]+\d")
NUMERIC_FIELDS: frozenset[str] = frozenset(
    k for k, f in SizingInputs.model_fields.items()
    if any(t in str(f.annotation) for t in ("int", "float")) and "bool" not in str(f.annotation))
"""Fields that take a number (a boolean given for one is an error, not 1 or 0)."""


def ungroup(name: str, text: str, allowed: str) -> str:
    """``text`` without thousands separators when it is a number written with whole groups of
    three ("1,000", "1 000", "12,500.5"); unchanged when it has none; an ambiguous grouping
    ("1,5", "1,00") is an error naming the field. The one rule for the CLI, JSON, workbooks and
    the Excel functions (issue 14)."""
    if "," not in text and not _SPACED.search(text):
        return text
    if not _GROUPED.fullmatch(text.strip()):
        raise InputError(name, text, allowed, "write 1000 or 1,000; decimals with a point: 1.5")
    return _SEPARATORS.sub("", text.strip())


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _allowed(field: str) -> str:
    """The allowed values of a field, in words, from its declaration."""
    info = SizingInputs.model_fields[field]
    lo = hi = None
    strict = False
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, strict = m.gt, True
        if getattr(m, "le", None) is not None:
            hi = m.le
    ann = info.annotation
    text = str(ann)
    for enum in (WorkloadType, Redundancy, Engine, ThroughputSource, Precision):
        if enum.__name__ in text:
            vals = [e.value for e in enum]
            if field in ("kv_cache_dtype", "compute_precision"):
                vals = ["auto", *vals]
            return "one of " + ", ".join(vals)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if extra.get("choices"):
        return "one of " + ", ".join(extra["choices"])
    if "Literal" in text and field == "model_architecture":
        return "one of dense, gqa, moe, mla"
    if field == "calibration_profile":
        return "empty, or the path of a profile YAML written by `xlsizer calibrate`"
    if ann is bool:
        return "TRUE or FALSE"
    # a count ("2000.5 tokens" is refused) says so, or a value inside the range reads as wrong
    whole = "a whole number " if re.search(r"\bint\b", text) else ""
    if strict and hi is not None:
        return f"{whole}greater than {_num(lo)} and at most {_num(hi)}"
    if lo is not None and hi is not None:
        return f"{whole}between {_num(lo)} and {_num(hi)}"
    if lo is not None:
        return f"{whole}greater than {_num(lo)}" if strict else f"{whole}at least {_num(lo)}"
    if whole:
        return "a whole number"
    if "float" in text:
        return "a number"
    return "valid"


def _release_precision(values: dict[str, Any]) -> None:
    """A quantized-release name ('qwen3-32b-fp8', 'kimi-k2.5-nvfp4') sets the weight precision
    when the caller gave none (issue 12: a release is its base model in another format)."""
    model = values.get("model")
    if values.get("precision") not in (None, "") or not isinstance(model, str):
        return
    from xlsizer.catalog import load_catalog

    cat = load_catalog()
    if cat.has_model(model) and (p := cat.release_precision(model)) is not None:
        values["precision"] = p


def make_inputs(data: dict[str, Any] | None = None, **overrides: Any) -> SizingInputs:
    """Build ``SizingInputs`` from plain values, turning any validation failure into an
    ``InputError`` that names the field, the value and the allowed range.
    """
    values = {**(data or {}), **overrides}
    unknown = [k for k in values if k not in SizingInputs.model_fields]
    if unknown:
        import difflib

        k = unknown[0]
        close = difflib.get_close_matches(k, FIELD_NAMES, n=3, cutoff=0.5)
        raise UnknownInputError(k, values[k], close)
    _release_precision(values)
    try:
        return SizingInputs(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err.get("loc", ()) if isinstance(p, str)]
        field = loc[0] if loc else "inputs"
        if field in SizingInputs.model_fields:
            ctx_err = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_err, InputError):
                raise ctx_err from None
            raise InputError(field, values.get(field, err.get("input")), _allowed(field)) from None
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, InputError):
            raise ctx_err from None
        raise InputError(field, err.get("input"), "valid", err.get("msg")) from None
