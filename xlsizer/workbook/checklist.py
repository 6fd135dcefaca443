"""The course's planning checklist (course.md §7) as data: the rows of the Checklist sheet.

Every row is one line of the decision log: what is to be decided or checked, who owns it,
and (filled in by the team) its status, value, reason and date.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

STATUSES: tuple[str, ...] = ("open", "in progress", "done", "n/a")

APP = "Application owner"
AI = "AI team"
IT = "IT team"
BOTH = "IT team + AI team"

OWNERS = "Owners and decisions"
QUESTIONS = "Eight questions for the AI team"
ASKED_BACK = "Questions the AI team will ask back"
RED_FLAGS = "Five red flags"
DONE = "What done looks like"

SECTIONS: tuple[str, ...] = (OWNERS, QUESTIONS, ASKED_BACK, RED_FLAGS, DONE)


@dataclass(frozen=True)
class ChecklistItem:
    """One row of the Checklist sheet (one entry of the decision log)."""

    section: str
    item: str
    owner: str
    status: str = "open"
    value: str | float | int | None = None
    reason: str | None = None
    date: date | None = None
    key: str = field(default="", compare=False)

    def filled(self, status: str, value: str | float | int | None = None, reason: str | None = None,
               on: date | None = None) -> ChecklistItem:
        """A copy with the team's answer filled in."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        return replace(self, status=status, value=value, reason=reason, date=on)


def _i(key: str, section: str, item: str, owner: str) -> ChecklistItem:
    return ChecklistItem(section=section, item=item, owner=owner, key=key)


CHECKLIST: tuple[ChecklistItem, ...] = (
    # --- Who owns which decision (three roles) -----------------------------------------------
    _i("use_case", OWNERS, "Application owner: which use case (chat, RAG, agent, batch)", APP),
    _i("users", OWNERS, "Application owner: how many users (concurrent at peak, requests per user)", APP),
    _i("latency", OWNERS, "Application owner: what latency is actually needed (TTFT, TPOT)", APP),
    _i("redundancy", OWNERS, "Application owner: how much redundancy (N, N+1, N+2) and the burst factor", APP),
    _i("model", OWNERS, "AI team: which model (size, architecture, family)", AI),
    _i("precision", OWNERS, "AI team: precision (weights and KV cache)", AI),
    _i("engine", OWNERS, "AI team: serving engine", AI),
    _i("optimisations", OWNERS, "AI team: which optimisations to enable (Inputs, step 6 Advanced)", AI),
    _i("context", OWNERS, "AI team: context length (prompt, output, max context; no owner in the course "
                          "callout, asked of the AI team)", AI),
    _i("gpu_sku", OWNERS, "IT team: GPU SKU", IT),
    _i("gpu_count", OWNERS, "IT team: how many GPUs and servers (owns the output, once the inputs are "
                            "signed off)", IT),
    _i("fabric", OWNERS, "IT team: fabric (front-end, back-end)", IT),
    _i("power_cooling", OWNERS, "IT team: power and cooling", IT),
    # --- Eight questions to ask the AI team -----------------------------------------------------
    _i("q1", QUESTIONS, "1. Which model exactly? The full name (KV constants, architecture and throughput "
                        "differ)", AI),
    _i("q2", QUESTIONS, "2. What precision? Expect FP8 on Hopper or Blackwell; otherwise ask why", AI),
    _i("q3", QUESTIONS, "3. Average context length, not the maximum? (most apps use 4-8K of 32K/128K)", AI),
    _i("q4", QUESTIONS, "4. Peak concurrent in-flight requests? Not total users and not RPS", AI),
    _i("q5", QUESTIONS, "5. Realistic TTFT and TPOT? Push back on 'as fast as possible'", AI),
    _i("q6", QUESTIONS, "6. Are continuous batching, PagedAttention and prefix caching on? (all three yes)", AI),
    _i("q7", QUESTIONS, "7. Is speculative decoding in scope? (throughput about 2x, fewer replicas)", AI),
    _i("q8", QUESTIONS, "8. Rollout plan for fine-tuned variants? (LoRA adapters on one deployment)", AI),
    # --- Questions the AI team will ask back -----------------------------------------------------
    _i("power_envelope", ASKED_BACK, "Power and cooling envelope? (kW per rack, air / RDHX / liquid)", IT),
    _i("maintenance", ASKED_BACK, "Maintenance window for GPU firmware and drivers? (quarterly is reasonable)",
       IT),
    _i("dev_cluster", ASKED_BACK, "A dev cluster mirroring production? (often no: agree a smaller-GPU "
                                  "workaround early)", IT),
    # --- Five red flags --------------------------------------------------------------------------
    _i("rf_max_context", RED_FLAGS, "'Size against the max context': over-provisions by 3x+", AI),
    _i("rf_a100", RED_FLAGS, "'Run on A100s because that's what we have': A100 cannot do FP8", IT),
    _i("rf_autoscale", RED_FLAGS, "'We'll autoscale during bursts': on-prem is sized to the peak; agree "
                                  "acceptable degradation", APP),
    _i("rf_fast", RED_FLAGS, "'As fast as possible': TPOT 20 vs 40 ms can double the GPU count", APP),
    _i("rf_model_later", RED_FLAGS, "'Decide the model later': the model moves the answer 5-10x", AI),
    # --- What done looks like (three artifacts) ---------------------------------------------------
    _i("sized_spec", DONE, "Sized spec: SKU, count, replicas, fabric, power and cooling, signed off by IT "
                           "and the AI team", BOTH),
    _i("decision_log", DONE, "Decision log: each input, its owner, value and reason (this sheet and the "
                             "Inputs sheet)", BOTH),
    _i("review_cadence", DONE, "Review cadence agreed (typically quarterly)", BOTH),
)


def checklist_items() -> list[ChecklistItem]:
    """A fresh copy of the blank checklist (every item open)."""
    return list(CHECKLIST)


def fill(answers: dict[str, tuple]) -> list[ChecklistItem]:
    """The checklist with some items answered: ``{key: (status, value, reason, date)}``."""
    unknown = set(answers) - {c.key for c in CHECKLIST}
    if unknown:
        raise KeyError(f"unknown checklist keys: {sorted(unknown)}")
    return [c.filled(*answers[c.key]) if c.key in answers else c for c in CHECKLIST]
