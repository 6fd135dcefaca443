"""``xlsizer catalog ...``: add a model from its config.json, list and show catalog models.

    xlsizer catalog add-model CONFIG.json [--id ID] [--replace] [--json]
    xlsizer catalog list [--json] [--user]
    xlsizer catalog show ID [--json]
    xlsizer catalog remove ID
    xlsizer catalog path

A config the importer refuses prints one line naming the key and exits 2 (``ConfigError``
is an ``XlsizerError``; ``cli.main`` turns it into that line).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from xlsizer.catalog.schema import ModelSpec

KV_REPORT_BYTES_PER_ELEMENT = 2.0
"""The KV figures the catalog reports are BF16 (2 bytes per element), as the issue and
catalog.md state them; sizing itself uses the KV precision of the inputs."""


def model_info(spec: ModelSpec, origin: str) -> dict[str, Any]:
    """The model's spec as JSON-ready data plus the derived figures a planner reads first."""
    from xlsizer.catalog.user import spec_row
    from xlsizer.engine.layers import tensor_parallel_refusal
    from xlsizer.engine.memory import kv_bytes_per_token, kv_growth_bytes_per_token, state_bytes_per_sequence

    row = spec_row(spec)
    info: dict[str, Any] = {
        "id": spec.id, "origin": origin,
        "total_params_b": spec.total_params_b,
        "active_params_b": spec.active_params_b if spec.active_params_b is not None else spec.total_params_b,
        "layers": spec.layers,
        "kv_bytes_per_token": kv_growth_bytes_per_token(spec, KV_REPORT_BYTES_PER_ELEMENT),
        "kv_bytes_per_token_all_layers": kv_bytes_per_token(spec, KV_REPORT_BYTES_PER_ELEMENT),
        "state_bytes_per_sequence": state_bytes_per_sequence(spec),
        # the tensor-parallel sizes in a node whose heads split evenly (the engines refuse others)
        "tensor_parallel_sizes": [tp for tp in (1, 2, 4, 8) if tensor_parallel_refusal(spec, tp) is None],
        **_window_info(spec),
    }
    info.update({k: v for k, v in row.items() if k not in info})
    return info


def _window_info(spec: ModelSpec) -> dict[str, Any]:
    """The window cap of sliding-window / chunked layers and a sentence on the KV figures:
    a model whose every layer is windowed adds no KV beyond its window (``kv_bytes_per_token``
    0) but does hold KV per token within it (``kv_bytes_per_token_all_layers``), up to a cap."""
    from xlsizer.engine.memory import kv_bytes_for_context, kv_bytes_per_token, kv_growth_bytes_per_token

    b = KV_REPORT_BYTES_PER_ELEMENT
    sw = spec.sliding_window
    if sw is None:
        return {"kv_window_tokens": None, "kv_bytes_per_sequence_cap": None}
    per_tok, growth = kv_bytes_per_token(spec, b), kv_growth_bytes_per_token(spec, b)
    state = spec.recurrent.bytes_per_sequence if spec.recurrent is not None else 0.0
    cap = kv_bytes_for_context(spec, sw.window_tokens, b) - state  # KV of one sequence at the window
    if growth == 0:
        note = (f"{per_tok:,.0f} B KV per token (BF16) up to the {sw.window_tokens:,}-token window; every "
                f"attention layer is windowed, so a sequence holds at most {cap / 1e6:,.1f} MB of KV")
    else:
        note = (f"{per_tok:,.0f} B KV per token (BF16) up to the {sw.window_tokens:,}-token window of "
                f"{sw.bounded_layers} {sw.kind} layers, {growth:,.0f} B per token beyond it")
    return {"kv_window_tokens": sw.window_tokens, "kv_bytes_per_sequence_cap": cap if growth == 0 else None,
            "kv_note": note}


def list_models(user_only: bool = False) -> list[dict[str, Any]]:
    """Every catalog model (or only the user's) as ``model_info`` rows, in catalog order."""
    from xlsizer.catalog import load_catalog

    cat = load_catalog()
    mine = set(cat.user_models)
    return [model_info(m, "user" if m.id in mine else "packaged")
            for m in cat.models.values() if not user_only or m.id in mine]


def show_model(key: str) -> dict[str, Any]:
    """One model by id or alias (``UnknownIdError`` names the closest ids)."""
    from xlsizer.catalog import load_catalog

    cat = load_catalog()
    spec = cat.model(key)
    return model_info(spec, "user" if spec.id in cat.user_models else "packaged")


def _print_info(info: dict[str, Any]) -> None:
    w = max(len(k) for k in info)
    for k, v in info.items():
        if isinstance(v, (dict, list)):
            v = json.dumps(v)
        print(f"{k:<{w}}  {v}")


def _cmd_add(args: argparse.Namespace) -> int:
    from xlsizer.catalog.user import add_model, user_catalog_dir

    imp = add_model(args.config, model_id=args.id, replace=args.replace)
    info = model_info(imp.spec, "user")
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        s = imp.spec
        act = f", {s.active_params_b:g}B active" if s.active_params_b else ""
        print(f"added {s.id}: {s.total_params_b:g}B parameters{act}, {s.layers} layers, "
              + (info.get("kv_note") or f"{info['kv_bytes_per_token']:,.0f} B KV per token (BF16)")
              + (f", plus {info['state_bytes_per_sequence'] / 1e6:,.1f} MB fixed state per sequence"
                 if info["state_bytes_per_sequence"] else ""))
        for note in imp.notes:
            print(f"  note: {note}")
        if info["tensor_parallel_sizes"] != [1, 2, 4, 8]:  # a sizing never offers the others
            sizes = info["tensor_parallel_sizes"]
            print(f"  note: its heads split evenly over {' or '.join(map(str, sizes))} GPUs only: replicas "
                  f"use tensor parallelism up to TP={sizes[-1]} ({s.attention_heads} attention heads, "
                  f"{s.kv_heads} KV heads)")
        print(f"  saved in {user_catalog_dir() / 'models' / (s.id + '.yaml')}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    rows = list_models(args.user)  # a user file that does not load is warned about once, by the loader
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    # KV per token over all attention layers (BF16), what one token adds within any window; the
    # window; KV per token beyond it (0 when every layer is windowed); fixed state per sequence
    print(f"{'id':<40} {'origin':<8} {'params B':>9} {'active B':>9} {'layers':>6} {'KV B/token':>11} "
          f"{'window':>8} {'beyond':>9} {'state MB/seq':>12}")
    for r in rows:
        win = f"{r['kv_window_tokens']:,}" if r["kv_window_tokens"] else "-"
        beyond = f"{r['kv_bytes_per_token']:,.0f}" if r["kv_window_tokens"] else "-"
        state = f"{r['state_bytes_per_sequence'] / 1e6:,.1f}" if r["state_bytes_per_sequence"] else "-"
        print(f"{r['id']:<40} {r['origin']:<8} {r['total_params_b']:>9g} {r['active_params_b']:>9g} "
              f"{r['layers']:>6} {r['kv_bytes_per_token_all_layers']:>11,.0f} {win:>8} {beyond:>9} {state:>12}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    info = show_model(args.id)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_info(info)
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from xlsizer.catalog.user import remove_user_model

    print(f"removed {remove_user_model(args.id)}")
    return 0


def _cmd_path(args: argparse.Namespace) -> int:
    from xlsizer.catalog.user import user_catalog_dir

    print(user_catalog_dir())
    return 0


def register(sub: Any) -> None:
    """Add the ``catalog`` command group to the main parser's subcommands."""
    c = sub.add_parser("catalog", help="add a model from its config.json; list and show catalog models")
    cs = c.add_subparsers(dest="catalog_command", required=True, parser_class=type(c))

    a = cs.add_parser("add-model", help="import a Hugging Face config.json into your catalog")
    a.add_argument("config", metavar="CONFIG.json", help="the model's config.json")
    a.add_argument("--id", help="catalog id (default: from the file name, or _name_or_path in it)")
    a.add_argument("--replace", action="store_true", help="overwrite a model of yours with the same id")
    a.add_argument("--json", action="store_true", help="print the model spec as JSON")
    a.set_defaults(func=_cmd_add)

    ls = cs.add_parser("list", help="list catalog models")
    ls.add_argument("--user", action="store_true", help="only the models you added")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=_cmd_list)

    s = cs.add_parser("show", help="show one model's architecture and KV figures")
    s.add_argument("id", help="model id or alias")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_cmd_show)

    r = cs.add_parser("remove", help="delete a model you added")
    r.add_argument("id", help="model id")
    r.set_defaults(func=_cmd_remove)

    p = cs.add_parser("path", help="print your catalog folder (XLSIZER_CATALOG_DIR overrides it)")
    p.set_defaults(func=_cmd_path)
