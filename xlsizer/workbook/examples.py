"""The filled example workbooks: the course's worked example, its two reference deployments and
the hand-worked test cases (course.md §6, §9, §10.5), each with a checklist partly filled in the
way a real team would have it a few weeks into planning.

Models the catalog does not hold are entered as ``model = custom`` with a real architecture
of the same class, named in each example's notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from xlsizer.workbook.checklist import ChecklistItem, fill
from xlsizer.workbook.template import write_template

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "workbooks" / "examples"

# Llama-2-13B: 40 layers, 40 KV heads (MHA), head dim 128, 13B dense.
LLAMA2_13B = {"model": "custom", "parameter_count_b": 13, "model_architecture": "dense", "num_layers": 40,
              "num_kv_heads": 40, "head_dim": 128}
# Mistral-7B: 32 layers, 8 KV heads (GQA), head dim 128, 7.2B.
MISTRAL_7B = {"model": "custom", "parameter_count_b": 7.2, "model_architecture": "gqa", "num_layers": 32,
              "num_kv_heads": 8, "head_dim": 128}
# Llama 3.1 405B: 126 layers, 8 KV heads (the published config), head dim 128.
LLAMA31_405B = {"model": "custom", "parameter_count_b": 405, "model_architecture": "gqa", "num_layers": 126,
                "num_kv_heads": 8, "head_dim": 128}


@dataclass(frozen=True)
class Example:
    slug: str
    name: str
    values: dict[str, Any]
    notes: str
    answers: dict[str, tuple] = field(default_factory=dict)

    def checklist(self) -> list[ChecklistItem]:
        return fill(self.answers)


D = date
EXAMPLES: tuple[Example, ...] = (
    Example(
        "course-worked-example", "Course worked example: bank RAG assistant (course.md §6)",
        {"workload_type": "rag", "model": "llama-3.3-70b", "precision": "fp8", "kv_cache_dtype": "fp8",
         "avg_prompt_tokens": 6000, "avg_output_tokens": 250, "max_context_tokens": 32768,
         "concurrent_users": 80, "requests_per_user_per_minute": 4, "target_ttft_ms": 500,
         "target_tpot_ms": 40, "burst_factor": 2.5, "redundancy_mode": "N+1", "serving_engine": "vllm",
         "prefix_caching": True, "prefix_shared_tokens": 1200, "prefix_hit_rate": 0.9},
        "Regional bank, ~4,000 employees, internal RAG assistant over policy documents, on-prem. "
        "Course answer: 14 replicas of 2x H200 (TP=2), 4 HGX nodes, ~48 kW IT / ~60 kW facility. "
        "KV cache FP8 as in the course's own math (its Sizer link leaves the UI's FP16 default). Prefix caching: "
        "the system prompt and retrieval template (~1,200 of the 6,000 prompt tokens) are the same for every "
        "request; 90% hit rate assumed (xlsizer's addition, not in the course).",
        {"use_case": ("done", "RAG over policy documents", "Internal assistant, on-prem, no third-party APIs",
                      D(2026, 3, 2)),
         "users": ("done", "80 concurrent, 4 req/min", "Pilot telemetry, mid-morning weekday peak", D(2026, 3, 2)),
         "latency": ("done", "TTFT 500 ms / TPOT 40 ms", "Reading speed; agreed with the app owner", D(2026, 3, 4)),
         "redundancy": ("done", "N+1, burst 2.5x", "Monday-morning policy reviews", D(2026, 3, 4)),
         "model": ("done", "llama-3.3-70b", "Quality validated on the policy corpus", D(2026, 3, 5)),
         "precision": ("done", "FP8 weights and KV", "Hopper GPUs; quality validated at FP8", D(2026, 3, 5)),
         "engine": ("done", "vLLM", "Team experience", D(2026, 3, 5)),
         "context": ("done", "6,000 + 250 tokens; 32K max", "15 passages of ~400 tokens", D(2026, 3, 5)),
         "gpu_sku": ("in progress", "H200 SXM", "VRAM 258 GB needs 2x H200 per replica", D(2026, 3, 9)),
         "fabric": ("done", "2x 100 GbE, no InfiniBand", "TP stays inside the chassis", D(2026, 3, 9)),
         "q1": ("done", "Llama 3.3 70B Instruct", None, D(2026, 3, 5)),
         "q2": ("done", "FP8", None, D(2026, 3, 5)),
         "q3": ("done", "6,250 average", "Not the 32K maximum", D(2026, 3, 5)),
         "q6": ("done", "yes / yes / yes", "vLLM defaults", D(2026, 3, 5)),
         "q7": ("open", None, None, None),
         "rf_max_context": ("done", "avoided", "Sized on 6,250 tokens, 32K as guardrail", D(2026, 3, 5)),
         "power_envelope": ("in progress", "2 racks at 24 kW, RDHX", None, D(2026, 3, 9))}),
    Example(
        "enterprise-bank-assistant", "Enterprise reference: customer-facing bank assistant (course.md §9)",
        {"workload_type": "rag", "model": "llama-3.3-70b", "parameter_count_b": 70, "model_architecture": "gqa",
         "precision": "fp8", "max_context_tokens": 16384, "avg_prompt_tokens": 4000, "avg_output_tokens": 300,
         "concurrent_users": 200, "requests_per_user_per_minute": 6, "target_ttft_ms": 500, "target_tpot_ms": 40,
         "burst_factor": 2, "redundancy_mode": "N+2", "serving_engine": "vllm", "prefix_caching": True,
         "prefix_shared_tokens": 1500, "prefix_hit_rate": 0.9, "spec_draft_model": "llama-3.1-8b"},
        "Values of the page's Sizer link (w=rag p=70 a=gqa FP8 ctx 16384 4000/300 u=200 rpm=6 TTFT 500 "
        "TPOT 40 bf=2 N+2 vLLM pc=1). The link names llama-3.1-70b; the catalog's llama-3.3-70b has the same "
        "architecture (80 layers, 8 KV heads, head dim 128). Page topology: six 8-GPU HGX H200 nodes, IB NDR, "
        "direct liquid cooling. xlsizer's additions: a 1,500-token shared system prompt and template (90% "
        "hit rate), and llama-3.1-8b named as the draft model should speculative decoding be switched on (q7).",
        {"use_case": ("done", "RAG customer assistant", "Regulatory: on-prem", D(2026, 2, 10)),
         "users": ("done", "200 in flight at peak", "5,000+ daily actives", D(2026, 2, 10)),
         "latency": ("done", "TTFT 500 / TPOT 40 ms p95", None, D(2026, 2, 12)),
         "redundancy": ("done", "N+2", "One node in maintenance plus one unplanned failure", D(2026, 2, 12)),
         "model": ("done", "Llama 3.1 70B", None, D(2026, 2, 12)),
         "precision": ("done", "FP8 (E4M3)", None, D(2026, 2, 12)),
         "engine": ("done", "vLLM + Dynamo router", None, D(2026, 2, 12)),
         "gpu_sku": ("done", "H200", "141 GB at 4.8 TB/s; B200 costs more and needs stricter cooling",
                     D(2026, 2, 20)),
         "fabric": ("done", "InfiniBand NDR", "400 Gb/s RDMA; RoCE needs PFC/ECN tuning", D(2026, 2, 20)),
         "power_cooling": ("in progress", "DLC, warm water 30-45 °C", "~11 kW per chassis", D(2026, 2, 20)),
         "q8": ("open", None, None, None),
         "maintenance": ("done", "quarterly", None, D(2026, 2, 20)),
         "dev_cluster": ("open", None, None, None),
         "rf_autoscale": ("done", "sized to peak", "Degradation plan: queue and hand off to a human",
                          D(2026, 2, 20))}),
    Example(
        "departmental-hr-assistant", "Departmental reference: internal HR/IT help assistant (course.md §9)",
        {"workload_type": "interactive_chat", **LLAMA2_13B, "precision": "fp8", "max_context_tokens": 4096,
         "avg_prompt_tokens": 1500, "avg_output_tokens": 250, "concurrent_users": 20,
         "requests_per_user_per_minute": 4, "target_ttft_ms": 1000, "target_tpot_ms": 50, "burst_factor": 1.5,
         "redundancy_mode": "N+1", "serving_engine": "vllm", "lora_variants": 2, "lora_enabled": True,
         "lora_rank": 16, "lora_traffic_split": "70,30"},
        "Values of the page's Sizer link (p=13 a=dense FP8 ctx 4096 1500/250 u=20 rpm=4 TTFT 1000 TPOT 50 "
        "bf=1.5 N+1 vLLM). The link names no model family, only a 13B dense model: entered as model = custom "
        "with Llama-2-13B's architecture (40 layers, 40 KV heads, head dim 128). Page topology: 3 single-GPU "
        "L40S servers, air cooling, 100 GbE. xlsizer's addition: two fine-tuned variants (HR 70%, IT 30% of "
        "the traffic) served as rank-16 LoRA adapters on one deployment.",
        {"use_case": ("done", "HR/IT help chat", "Falls back to a static help page when down", D(2026, 4, 1)),
         "users": ("done", "20 in flight (200 active)", None, D(2026, 4, 1)),
         "redundancy": ("done", "N+1", "Internal outages have bounded consequences", D(2026, 4, 1)),
         "model": ("in progress", "13B-class", "Qwen3 13B or similar; shortlist pending", D(2026, 4, 3)),
         "gpu_sku": ("done", "L40S", "H100/H200 cost 3-4x more per GPU", D(2026, 4, 8)),
         "power_cooling": ("done", "air, <5 kW per rack", None, D(2026, 4, 8)),
         "rf_model_later": ("open", None, "Model not final: revisit the sizing when it is", None),
         "review_cadence": ("done", "quarterly", None, D(2026, 4, 8))}),
    Example(
        "tc1-7b-copilot", "TC1: 7B code copilot (course.md §10.5)",
        {"workload_type": "code_completion", **MISTRAL_7B, "precision": "fp16", "concurrent_users": 300,
         "requests_per_user_per_minute": 6, "avg_prompt_tokens": 1500, "avg_output_tokens": 80,
         "max_context_tokens": 8192, "target_ttft_ms": 100, "target_tpot_ms": 25, "burst_factor": 2,
         "redundancy_mode": "N+1", "serving_engine": "vllm", "gpu": "h100-sxm"},
        "Hand-worked test case TC1: 300 users x 6 rpm, 1,500/80 tokens, TTFT 100 / TPOT 25 ms, burst 2. "
        "Course answer: VRAM 26 GB, 1x H100 per replica, 10k tok/s, 95k tok/s demand -> 11 replicas, "
        "~16.5 kW IT / 24 kW facility. A 7B model entered as model = custom with Mistral-7B's architecture "
        "(7.2B, 32 layers, 8 KV heads, head dim 128), FP16.",
        {"use_case": ("done", "code completion", None, D(2026, 5, 4)),
         "latency": ("done", "TTFT 100 / TPOT 25 ms", "IDE completions must feel instant", D(2026, 5, 4)),
         "model": ("done", "7B code model", None, D(2026, 5, 5)),
         "precision": ("in progress", "FP16", "FP8 not yet validated for code quality", D(2026, 5, 5)),
         "gpu_sku": ("done", "H100 SXM", "Existing HGX capacity", D(2026, 5, 6)),
         "rf_fast": ("in progress", None, "TPOT 25 ms under review", D(2026, 5, 6))}),
    Example(
        "tc3-405b", "TC3: Llama 3.1 405B on TRT-LLM (course.md §10.5)",
        {"workload_type": "interactive_chat", **LLAMA31_405B, "precision": "fp8", "concurrent_users": 200,
         "requests_per_user_per_minute": 1, "avg_prompt_tokens": 2000, "avg_output_tokens": 400,
         "target_tpot_ms": 50, "redundancy_mode": "N+1", "serving_engine": "trt-llm", "gpu": "h200-sxm"},
        "Hand-worked test case TC3: 200 users x 1 rpm, 2,000/400 tokens, TPOT 50 ms, TRT-LLM. Course answer: "
        "VRAM 634 GB, 8x H200 single-node, 2,000 tok/s -> 9 nodes (72 H200); or 8x B200 at 5,000 tok/s -> "
        "5 DGX B200, 72 kW IT / 83 kW facility, liquid cooling. Model = custom with Llama 3.1 405B's published "
        "architecture (126 layers, 8 KV heads, head dim 128; the course code uses 16 KV heads).",
        {"model": ("done", "Llama 3.1 405B", None, D(2026, 6, 1)),
         "precision": ("done", "FP8", None, D(2026, 6, 1)),
         "engine": ("done", "TRT-LLM", None, D(2026, 6, 1)),
         "gpu_sku": ("in progress", "H200 vs B200", "B200: 5 DGX instead of 9 HGX, but liquid cooling",
                     D(2026, 6, 3)),
         "power_envelope": ("open", None, None, None),
         "rf_a100": ("n/a", None, "No A100s in the fleet", D(2026, 6, 3))}),
    Example(
        "tc4-nightly-batch", "TC4: nightly batch summarisation, 70B (course.md §10.5)",
        {"workload_type": "batch", "model": "llama-3.3-70b", "precision": "fp16", "concurrent_users": 139,
         "requests_per_user_per_minute": 1, "avg_prompt_tokens": 8000, "avg_output_tokens": 400,
         "max_context_tokens": 16384, "burst_factor": 1, "redundancy_mode": "N", "serving_engine": "vllm",
         "gpu": "h200-sxm"},
        "Derivation of the traffic inputs: 50,000 documents in a 6-hour window = 50,000 / 21,600 s = 2.31 "
        "documents/s = 138.9 per minute, so 139 parallel workers ('users') at 1 request per minute "
        "(2.32 RPS). Each document is 8,400 tokens (8,000 prompt + 400 summary): 2.32 x 8,400 = 19,460 tok/s, "
        "the course's ~19,400 tok/s. Burst 1.0 (the job paces itself) and redundancy N (a failed batch is "
        "rerun). Course answer: VRAM ~460 GB -> 4x H200 TP=4, 3 replicas = 12 H200, ~22 kW.",
        {"use_case": ("done", "nightly batch", "Summaries ready by 06:00", D(2026, 7, 1)),
         "users": ("done", "139 workers x 1 rpm", "50k docs in 6 h (see the derivation in Start!B17)",
                   D(2026, 7, 1)),
         "latency": ("n/a", None, "Batch: throughput matters, not TTFT", D(2026, 7, 1)),
         "redundancy": ("done", "N", "A failed night is rerun", D(2026, 7, 1)),
         "precision": ("open", "FP16", "FP8 would halve the GPUs; quality check pending", None),
         "rf_a100": ("in progress", "A100 80 GB?", "Acceptable for batch at FP16 (~2,500 tok/s on 70B)",
                     D(2026, 7, 2))}),
    Example(
        "tc5-local-13b", "TC5: local 13B assistant (course.md §10.5)",
        {"workload_type": "interactive_chat", **LLAMA2_13B, "precision": "fp8", "concurrent_users": 20,
         "requests_per_user_per_minute": 2, "avg_prompt_tokens": 1500, "avg_output_tokens": 250,
         "max_context_tokens": 4096, "redundancy_mode": "N+1", "serving_engine": "vllm", "gpu": "l40s"},
        "Hand-worked test case TC5: 20 users x 2 rpm; course answer VRAM 21 GB -> 3x L40S, ~2 kW, air. Token "
        "lengths are not given in the case: 1,500/250 taken from the departmental reference. Model = custom "
        "with Llama-2-13B's architecture (40 layers, 40 KV heads, head dim 128), FP8.",
        {"use_case": ("done", "internal chat", None, D(2026, 8, 3)),
         "gpu_sku": ("done", "L40S", "Fits 13B FP8 with room for KV", D(2026, 8, 3)),
         "power_cooling": ("done", "air", "~2 kW", D(2026, 8, 3)),
         "sized_spec": ("open", None, None, None)}),
)


def example_path(e: Example, out_dir: str | Path | None = None) -> Path:
    """Where example ``e`` is written: ``out_dir`` (default workbooks/examples)/SLUG.xlsx."""
    return (Path(out_dir) if out_dir else EXAMPLES_DIR) / f"{e.slug}.xlsx"


def write_examples(out_dir: str | Path | None = None) -> list[Path]:
    """Write every example workbook; returns the paths."""
    return [write_template(example_path(e, out_dir), e.values, e.checklist(), e.name, e.notes) for e in EXAMPLES]
