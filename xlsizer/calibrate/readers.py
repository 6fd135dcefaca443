"""Read a team's benchmark results into rows of the validation CSV format.

``xlsizer calibrate`` predicts each measured run with the same function ``xlsizer validate``
uses (``validation.predict_row``), so every reader turns one run into two rows of
``validation/serving.csv``'s format: ``ttft_ms`` and ``tpot_ms``, with the run's lengths,
load and deployment. Formats (detected from the content, not the file name; field names from
each tool's source, samples in tests/fixtures/calibrate/ with their sources):

- ``csv``: the validation CSV format itself (validation/README.md); ``ttft_ms``, ``tpot_ms``
  and ``itl_ms`` rows are used, other metrics are left out and counted.
- ``vllm``: ``vllm bench serve --save-result`` JSON (vllm/benchmarks/serve.py ``result_json``:
  ``mean_ttft_ms``, ``mean_tpot_ms``, ``total_input_tokens``, ``total_output_tokens``,
  ``completed``, ``max_concurrency``, ``request_rate``, ``model_id``); several results
  appended to one file (``--append-result``) are several runs.
- ``sglang``: ``python -m sglang.bench_serving --output-file`` JSONL, one run per line
  (python/sglang/bench_serving.py ``result``: the same latency keys, ``dataset_name``,
  ``random_input_len``; no model name).
- ``aiperf``: NVIDIA AIPerf ``profile_export_aiperf.json`` and GenAI-Perf
  ``profile_export_genai_perf.json`` (one metric per key with ``unit``, ``avg``, ``p50``...:
  ``time_to_first_token``, ``inter_token_latency``, ``input_sequence_length``,
  ``output_sequence_length``, ``request_count``; the load in ``input_config``).
- ``trtllm-bench``: ``trtllm-bench throughput --streaming --report_json`` (tensorrt_llm/bench/
  dataclasses/reporting.py ``get_statistics_dict``: ``streaming_metrics.avg_ttft_ms``,
  ``avg_tpot_ms``; ``request_info``; ``world_info.tp_size``/``ep_size``/``world_size``).

Statistic: the mean of each latency where the file has it (the performance model predicts
means); the median where only that exists, said in the row's notes and in the profile.

What a file does not say comes from ``--set`` (model, gpu, gpu_count, tp, ep, dp, engine,
weights_precision, concurrency, ...); a fact no file and no ``--set`` gives is a one-line
``CalibrationInputError`` naming it.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsizer.engine.latency import LENGTH_CV_MAX
from xlsizer.errors import XlsizerError

SET_FIELDS: tuple[str, ...] = (
    "model", "gpu", "gpu_count", "tp", "ep", "dp", "engine", "engine_version", "weights_precision",
    "kv_precision", "mode", "concurrency", "isl", "osl", "osl_cv", "benchmark_rounds", "max_num_tokens",
)
"""What ``--set`` may give: the deployment and, for a file that lacks them, the load and lengths."""

REQUIRED: tuple[str, ...] = ("model", "gpu", "engine", "weights_precision")
"""Facts every run needs (plus ``tp`` or ``gpu_count``, either gives the other)."""

METRIC_ROWS: tuple[str, ...] = ("ttft_ms", "tpot_ms", "itl_ms")
"""Validation-CSV metrics a profile is fitted on."""

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest result file read, bytes: a detailed vLLM result with per-request lists of a long run
is a few MB; anything far larger is not a result file."""


class CalibrationInputError(XlsizerError):
    """A measurement file cannot be used for calibration; the message names the file and why."""


@dataclass
class FileRuns:
    """The runs read from one file."""

    name: str
    format: str
    statistic: str
    """"mean" or "median" (p50): which summary of each latency the file gave."""
    rows: list[dict[str, str]] = field(default_factory=list)
    left_out: int = 0
    """Rows of a CSV with other metrics (throughput, ...), not used."""

    @property
    def runs(self) -> int:
        return len({r["_run"] for r in self.rows})


def _num(x: Any) -> float | None:
    """A finite number, or None (absent, not a number, infinite: vLLM writes an unbounded request
    rate as Infinity; an integer past a float's range)."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        if isinstance(x, int | float):
            v = float(x)
        elif isinstance(x, str):
            v = float(x.replace(",", ""))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def _text(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CalibrationInputError(f"{path}: {size / 1e6:.0f} MB is too large for a benchmark result file")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CalibrationInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CalibrationInputError(f"{path}: is a directory, not a result file") from None
    except UnicodeDecodeError:
        raise CalibrationInputError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise CalibrationInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not text.strip():
        raise CalibrationInputError(f"{path}: empty file")
    if "\x00" in text:
        raise CalibrationInputError(f"{path}: not a text file (contains NUL bytes)")
    return text


def _json_objects(text: str) -> list[Any] | None:
    """The JSON document, or the JSON lines, of ``text``; None if it is neither."""
    try:
        doc = json.loads(text)
        return doc if isinstance(doc, list) else [doc]
    except (json.JSONDecodeError, RecursionError, ValueError):
        pass
    out: list[Any] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError, ValueError):
            return None
    return out or None


def detect(obj: Mapping[str, Any]) -> str | None:
    """Which tool wrote one JSON result object, or None."""
    if "mean_ttft_ms" in obj or "median_ttft_ms" in obj:
        if "dataset_name" in obj or "random_input_len" in obj:
            return "sglang"
        return "vllm"
    if isinstance(obj.get("time_to_first_token"), dict):
        return "aiperf"
    if isinstance(obj.get("streaming_metrics"), dict) or (
            isinstance(obj.get("world_info"), dict) and isinstance(obj.get("request_info"), dict)):
        return "trtllm-bench"
    return None


# --- one run per tool ----------------------------------------------------------------------


def _pick(obj: Mapping[str, Any], mean_key: str, median_key: str) -> tuple[float | None, str]:
    v = _num(obj.get(mean_key))
    if v is not None:
        return v, "mean"
    return _num(obj.get(median_key)), "median"


def _lens_cv(lens: Any) -> float | None:
    """Standard deviation / mean of a run's per-request output tokens (a detailed result's
    ``output_lens``; failed requests, written as 0, left out); None without two lengths."""
    if not isinstance(lens, list):
        return None
    xs = [float(x) for x in lens if isinstance(x, int | float) and not isinstance(x, bool) and x > 0]
    if len(xs) < 2:
        return None
    return statistics.pstdev(xs) / statistics.fmean(xs)


def _bench_serve_run(obj: Mapping[str, Any]) -> dict[str, Any]:
    """vLLM ``bench serve`` and SGLang ``bench_serving`` share their latency keys; with
    ``--save-detailed`` (vLLM) or ``--output-details`` (SGLang) they also list each request's
    output tokens (``output_lens``), whose spread the model takes (``osl_cv``)."""
    ttft, s1 = _pick(obj, "mean_ttft_ms", "median_ttft_ms")
    tpot, s2 = _pick(obj, "mean_tpot_ms", "median_tpot_ms")
    done = _num(obj.get("completed"))
    tin, tout = _num(obj.get("total_input_tokens")), _num(obj.get("total_output_tokens"))
    run: dict[str, Any] = {"ttft_ms": ttft, "tpot_ms": tpot, "statistic": "mean" if s1 == s2 == "mean" else "median",
                           "completed": done}
    if done and tin is not None and tout is not None:
        run["isl"], run["osl"] = tin / done, tout / done
    elif _num(obj.get("random_input_len")) and _num(obj.get("random_output_len")):
        run["isl"], run["osl"] = _num(obj["random_input_len"]), _num(obj["random_output_len"])
    cv = _lens_cv(obj.get("output_lens"))
    if cv is not None:
        run["osl_cv"] = cv
    run["concurrency"] = _num(obj.get("max_concurrency"))
    rate = obj.get("request_rate")
    rate_n = _num(rate)
    run["rate"] = rate_n if rate_n is not None and math.isfinite(rate_n) else None
    model = obj.get("model_id")
    if isinstance(model, str) and model:
        run["model"] = model
    return run


def _stat(obj: Mapping[str, Any], key: str) -> tuple[float | None, str, str]:
    """(value in ms or tokens, statistic, unit) of an AIPerf/GenAI-Perf metric block."""
    block = obj.get(key)
    if not isinstance(block, dict):
        return None, "", ""
    unit = str(block.get("unit", "")).strip().lower()
    v, how = _num(block.get("avg")), "mean"
    if v is None:
        v, how = _num(block.get("p50")), "median"
    if v is not None and unit in ("s", "sec", "seconds"):
        v *= 1000.0
    elif v is not None and unit == "ns":
        v /= 1e6
    return v, how, unit


def _find_concurrency(cfg: Any) -> tuple[float | None, float | None]:
    """(concurrency, request rate) from an AIPerf / GenAI-Perf ``input_config``."""
    if not isinstance(cfg, dict):
        return None, None
    places: list[Any] = [cfg, cfg.get("loadgen"), cfg.get("perf_analyzer")]
    phases = cfg.get("phases")
    if isinstance(phases, list):
        places += [p for p in phases if isinstance(p, dict) and p.get("name", "profiling") == "profiling"]
    conc = rate = None
    for p in places:
        if not isinstance(p, dict):
            continue
        c = p.get("concurrency")
        if isinstance(c, list) and len(c) == 1:
            c = c[0]
        if conc is None and _num(c):
            conc = _num(c)
        r = p.get("request_rate")
        if isinstance(r, list) and len(r) == 1:
            r = r[0]
        if rate is None and _num(r):
            rate = _num(r)
    return conc, rate


def _aiperf_run(obj: Mapping[str, Any]) -> dict[str, Any]:
    ttft, s1, _ = _stat(obj, "time_to_first_token")
    tpot, s2, _ = _stat(obj, "inter_token_latency")
    isl, _, _ = _stat(obj, "input_sequence_length")
    osl, _, _ = _stat(obj, "output_sequence_length")
    count, _, _ = _stat(obj, "request_count")
    block = obj.get("output_sequence_length")
    std = _num(block.get("std")) if isinstance(block, dict) else None
    cfg = obj.get("input_config")
    conc, rate = _find_concurrency(cfg)
    run: dict[str, Any] = {"ttft_ms": ttft, "tpot_ms": tpot, "isl": isl, "osl": osl, "completed": count,
                           "statistic": "mean" if s1 == s2 == "mean" else "median",
                           "concurrency": conc, "rate": rate if conc is None else None}
    if std is not None and osl:  # the metric block's standard deviation: the answers' spread
        run["osl_cv"] = std / osl
    if isinstance(cfg, dict):
        names = (cfg.get("endpoint") or {}).get("model_names") if isinstance(cfg.get("endpoint"), dict) else None
        model = names[0] if isinstance(names, list) and names else cfg.get("model")
        if isinstance(model, list) and model:
            model = model[0]
        if isinstance(model, str) and model:
            run["model"] = model
    return run


def _trtllm_run(obj: Mapping[str, Any]) -> dict[str, Any]:
    sm = obj.get("streaming_metrics")
    if not isinstance(sm, dict):
        raise CalibrationInputError("trtllm-bench report has no streaming_metrics (TTFT and TPOT are reported "
                                    "only for runs with --streaming)")
    req = obj.get("request_info") if isinstance(obj.get("request_info"), dict) else {}
    world = obj.get("world_info") if isinstance(obj.get("world_info"), dict) else {}
    eng = obj.get("engine") if isinstance(obj.get("engine"), dict) else {}
    ttft, tpot, how = _num(sm.get("avg_ttft_ms")), _num(sm.get("avg_tpot_ms")), "mean"
    if ttft is None or tpot is None:
        tp_ = sm.get("ttft_percentiles") if isinstance(sm.get("ttft_percentiles"), dict) else {}
        pp_ = sm.get("tpot_percentiles") if isinstance(sm.get("tpot_percentiles"), dict) else {}
        ttft, tpot, how = _num(tp_.get("p50")), _num(pp_.get("p50")), "median"
    run: dict[str, Any] = {"ttft_ms": ttft, "tpot_ms": tpot, "statistic": how,
                           "isl": _num(req.get("avg_input_length")), "osl": _num(req.get("avg_output_length")),
                           "completed": _num(req.get("num_requests")),
                           # trtllm-bench's --concurrency is not in the report; its measured mean
                           # concurrency is the closest fact it keeps (a --set concurrency wins)
                           "concurrency": _num(req.get("avg_num_concurrent_requests")), "rate": None,
                           "engine": "tensorrt-llm"}
    for key, src in (("tp", "tp_size"), ("ep", "ep_size"), ("gpu_count", "world_size"),
                     ("max_num_tokens", "max_num_tokens")):
        v = _num(world.get(src))
        if v:
            run[key] = v
    if _num(world.get("pp_size")) not in (None, 1.0):
        raise CalibrationInputError(f"trtllm-bench report: pipeline parallel {world.get('pp_size')} is not "
                                    "supported by calibration (tp and ep only)")
    if isinstance(eng.get("model"), str) and eng["model"]:
        run["model"] = eng["model"]
    if eng.get("version"):
        run["engine_version"] = str(eng["version"])
    return run


# --- rows ----------------------------------------------------------------------------------------


def _require(path: Path, facts: Mapping[str, Any], key: str, hint: str = "") -> str:
    v = facts.get(key)
    if v is None or _text(v) == "":
        raise CalibrationInputError(f"{path.name}: the file does not give {key}; add --set {key}=...{hint}")
    return _text(v)


def _rows_from_run(path: Path, i: int, run: dict[str, Any], sets: Mapping[str, Any], fmt: str
                   ) -> list[dict[str, str]]:
    facts: dict[str, Any] = {**{k: v for k, v in run.items() if v is not None}, **{
        k: v for k, v in sets.items() if v is not None and _text(v) != ""}}
    where = f"{path.name} run {i}"
    for key in ("ttft_ms", "tpot_ms"):
        if run.get(key) is None:
            raise CalibrationInputError(f"{where}: no {key[:4].upper()} in the file (is it a {fmt} result?)")
    if not (facts.get("tp") or facts.get("gpu_count")):
        raise CalibrationInputError(f"{path.name}: the file does not give tp or gpu_count; add --set tp=... "
                                    "(GPUs per replica)")
    for key in REQUIRED:
        _require(path, facts, key)
    lengths: dict[str, float] = {}
    for key in ("isl", "osl"):
        _require(path, facts, key, " (mean prompt / output tokens of the run)")
        x = _num(facts[key])
        if x is None or x < 1.0:
            raise CalibrationInputError(f"{where}: {key} {_text(facts[key])!r} is not a number of tokens (at "
                                        "least 1: the run's mean prompt / output tokens)")
        lengths[key] = x
    conc = facts.get("concurrency")
    rate = run.get("rate")
    if conc is not None and (_num(conc) or 0.0) <= 0.0:
        raise CalibrationInputError(f"{where}: concurrency {_text(conc)!r} is not a positive number; add --set "
                                    "concurrency=... (requests in flight during the run)")
    if conc is None and rate is None:
        raise CalibrationInputError(f"{where}: neither a concurrency nor a request rate; add --set concurrency=... "
                                    "(requests in flight during the run)")
    tp = facts.get("tp") or facts.get("gpu_count")
    osl_cv = ""  # blank: equal lengths
    cv_raw = facts.get("osl_cv")
    if cv_raw is not None and _text(cv_raw) != "":
        cv = _num(cv_raw)
        if cv is None or not 0.0 <= cv <= LENGTH_CV_MAX:
            raise CalibrationInputError(f"{where}: osl_cv {_text(cv_raw)!r} is not a number from 0 to "
                                        f"{LENGTH_CV_MAX:g} (standard deviation / mean of the output tokens per "
                                        "request; 0 = every answer the same length)")
        osl_cv = f"{cv:.4g}"
    base = {
        "split": "public", "source": f"{path.name} ({fmt})",
        "model": _text(facts["model"]), "gpu": _text(facts["gpu"]),
        "gpu_count": _text(facts.get("gpu_count") or tp), "tp": _text(tp),
        "ep": _text(facts.get("ep") or ""), "dp": _text(facts.get("dp") or ""),
        "weights_precision": _text(facts["weights_precision"]), "kv_precision": _text(facts.get("kv_precision")),
        "engine": _text(facts["engine"]), "engine_version": _text(facts.get("engine_version")),
        "isl": f"{lengths['isl']:.6g}", "osl": f"{lengths['osl']:.6g}",
        "osl_cv": osl_cv,
        "mode": _text(facts.get("mode") or "agg"), "max_num_tokens": _text(facts.get("max_num_tokens")),
        "quality": "A", "_run": f"{path.name}#{i}", "_file": path.name,
    }
    notes = f"{fmt} result, {run['statistic']} latencies"
    if conc is not None:
        base.update(load="concurrency", concurrency=_text(conc))
        # the tools start every client at once and keep each busy until the run's requests are
        # sent: the first round is a burst (queueing.burst_weight), completed / concurrency rounds
        rounds = _num(sets.get("benchmark_rounds")) or (
            max(1, round(run["completed"] / float(conc))) if run.get("completed") else None)
        base["benchmark_rounds"] = _text(rounds) if rounds else ""
    else:
        base.update(load="rate", concurrency="")
        notes += f"; rate {rate:g} QPS"
    base["notes"] = notes
    return [{**base, "id": f"{path.name}#{i}:{m}", "metric": m, "value": f"{run[m]:.6g}"}
            for m in ("ttft_ms", "tpot_ms")]


def _same(key: str, a: str, b: Any) -> bool:
    """Whether a CSV cell and a ``--set`` value name the same thing (catalog ids and aliases,
    engine aliases, numbers)."""
    from xlsizer.catalog.loader import load_catalog

    tb = _text(b)
    try:
        if key == "model":
            return load_catalog().model(a).id == load_catalog().model(tb).id
        if key == "gpu":
            return load_catalog().gpu(a).id == load_catalog().gpu(tb).id
        if key == "engine":
            from xlsizer.engine.engines import engine_profile

            return engine_profile(a).name == engine_profile(tb).name
    except XlsizerError:
        return a.strip().lower() == tb.strip().lower()
    x, y = _num(a), _num(tb)
    if x is not None and y is not None:
        return x == y
    return a.strip().lower() == tb.strip().lower()


def _csv_rows(path: Path, text: str, sets: Mapping[str, Any]) -> FileRuns:
    from xlsizer.validation import MeasurementFileError, read_rows

    try:
        rows = read_rows(path)
    except MeasurementFileError as exc:
        raise CalibrationInputError(exc.short()) from None
    out = FileRuns(path.name, "csv", "as the file states it")
    for r in rows:
        if r.get("metric", "").lower() not in METRIC_ROWS:
            out.left_out += 1
            continue
        row = dict(r)
        if not all(_same(k, row.get(k, ""), v) for k, v in sets.items() if v is not None and row.get(k)):
            out.left_out += 1  # --set picks the deployment among a file's several
            continue
        for k, v in sets.items():  # --set fills what the file leaves blank
            if v is not None and not row.get(k):
                row[k] = _text(v)
        if not row.get("gpu_count") and row.get("tp"):
            row["gpu_count"] = row["tp"]
        # a run: every column but its id, metric and value (TTFT and TPOT rows of one run pair up)
        row["_run"] = f"{path.name}#" + "|".join(f"{k}={v}" for k, v in sorted(row.items())
                                                  if k not in ("id", "metric", "value", "quality", "_run"))
        row["_file"] = path.name
        row["metric"] = row["metric"].lower()
        out.rows.append(row)
    if not out.rows:
        picked = " matching the --set values" if sets else ""
        raise CalibrationInputError(f"{path}: no ttft_ms, tpot_ms or itl_ms rows{picked} to calibrate on")
    for key in REQUIRED:
        missing = [r["id"] for r in out.rows if not r.get(key)]
        if missing:
            raise CalibrationInputError(f"{path.name}: row {missing[0]} does not give {key}; add --set {key}=...")
    return out


def read_file(path: str | Path, sets: Mapping[str, Any] | None = None) -> FileRuns:
    """The runs of one result file as validation-CSV rows (``CalibrationInputError`` if it cannot
    be used: empty, unreadable, another tool's file, a missing fact)."""
    p = Path(path)
    sets = dict(sets or {})
    text = _read_text(p)
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        first = text.splitlines()[0] if text.splitlines() else ""
        if "metric" in first and "value" in first and "," in first:
            return _csv_rows(p, text, sets)
        raise CalibrationInputError(f"{p}: not a result file xlsizer reads (validation CSV, vLLM bench serve JSON, "
                                    "SGLang bench_serving JSONL, AIPerf/GenAI-Perf profile_export JSON, "
                                    "trtllm-bench report JSON)")
    objs = _json_objects(text)
    if objs is None:
        raise CalibrationInputError(f"{p}: not valid JSON or JSON lines")
    fmts = {detect(o) if isinstance(o, dict) else None for o in objs}
    if None in fmts or len(fmts) != 1:
        raise CalibrationInputError(f"{p}: JSON of another tool (no TTFT/TPOT summary of vLLM, SGLang, "
                                    "AIPerf/GenAI-Perf or trtllm-bench found)")
    fmt = fmts.pop() or ""
    reader = {"vllm": _bench_serve_run, "sglang": _bench_serve_run, "aiperf": _aiperf_run,
              "trtllm-bench": _trtllm_run}[fmt]
    out = FileRuns(p.name, fmt, "mean")
    for i, obj in enumerate(objs, start=1):
        try:
            run = reader(obj)
        except CalibrationInputError as exc:
            raise CalibrationInputError(f"{p.name}: {exc}") from None
        if fmt == "sglang" and not sets.get("engine"):
            run.setdefault("engine", "sglang")
        if run["statistic"] == "median":
            out.statistic = "median"
        out.rows += _rows_from_run(p, i, run, sets, fmt)
    return out


def read_files(paths: list[str], sets: Mapping[str, Any] | None = None) -> list[FileRuns]:
    """Every file's runs (the first unusable file raises)."""
    if not paths:
        raise CalibrationInputError("no measurement files given")
    unknown = sorted(set(sets or {}) - set(SET_FIELDS))
    if unknown:
        raise CalibrationInputError(f"--set {unknown[0]}: not a calibration fact (one of {', '.join(SET_FIELDS)})")
    return [read_file(p, sets) for p in paths]


def check_runs(rows: list[dict[str, str]]) -> None:
    """Impossible numbers in the runs raise ``CalibrationInputError`` naming the row: a latency
    that is not a positive finite number, lengths below one token, a TTFT smaller than one
    decode step of the same run (the first token needs the prompt's prefill plus a step)."""
    runs: dict[str, dict[str, float]] = {}
    for r in rows:
        rid = r.get("id", "?")
        try:
            v = float(r.get("value", "").replace(",", ""))
        except ValueError:
            raise CalibrationInputError(f"row {rid}: {r.get('metric')} {r.get('value')!r} is not a number") from None
        if not math.isfinite(v) or v <= 0:
            raise CalibrationInputError(f"row {rid}: {r.get('metric')} {v:g} ms is impossible (a latency is > 0)")
        for key in ("isl", "osl", "concurrency"):
            t = r.get(key, "")
            if t:
                try:
                    x = float(t.replace(",", ""))
                except ValueError:
                    raise CalibrationInputError(f"row {rid}: {key} {t!r} is not a number") from None
                if not math.isfinite(x) or x < 1:
                    raise CalibrationInputError(f"row {rid}: {key} {x:g} is impossible (at least 1)")
        metric = "tpot_ms" if r.get("metric") == "itl_ms" else r.get("metric", "")
        runs.setdefault(r.get("_run", rid), {})[metric] = v
    for run, m in runs.items():
        if "ttft_ms" in m and "tpot_ms" in m and m["ttft_ms"] < m["tpot_ms"]:
            raise CalibrationInputError(
                f"run {run.split('|')[0]}: TTFT {m['ttft_ms']:g} ms is smaller than one decode step "
                f"(TPOT {m['tpot_ms']:g} ms): impossible, check the units and columns")


__all__ = [
    "METRIC_ROWS",
    "REQUIRED",
    "SET_FIELDS",
    "CalibrationInputError",
    "FileRuns",
    "check_runs",
    "detect",
    "read_file",
    "read_files",
]
