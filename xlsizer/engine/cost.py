"""Cost, TCO and break-even against an API price, per scenario (issue 5).

Pure functions plus one frozen breakdown; no pydantic and no I/O after import, so the
three calls per sizing stay in the microseconds. All money is in the input's currency
label (numbers stay plain); the packaged defaults quote USD.

Cost basis (one everywhere, stated in the headline by :func:`basis_sentence`):

    cloud     rents the GPUs in use (replicas x GPUs per replica) by the GPU-hour, as the catalog
              prices them; when the servers the plan packs them into hold more GPU slots, the cost
              of renting those whole nodes (``monthly_whole_nodes``) is given beside it, because
              many clouds rent 8-GPU nodes only.
    on-prem   buys whole servers: every GPU slot of every server (HGX/OAM boards ship full).

Definitions (``c`` = the scenario's cost, ``h`` = hours per month):

    cloud     compute = GPUs in use x price per GPU-hour x h   (power and facility are in the price)
    on-prem   capex   = GPUs x GPU price + servers x server price (server without its GPUs)
              compute = capex / (amortization years x 12)          straight line, no residual
              maint.  = capex x maintenance % / 100 / 12
              power   = IT kW x PUE x h x electricity price        nameplate IT power: an upper bound
              facility= colocation price x IT kW                   per kW of contracted IT load
    monthly   = compute + maintenance + power + facility;  annual = 12 x monthly

Tokens actually served (the same workload in every scenario; only the hardware differs):

    peak tok/s      = RPS x (prompt + output tokens) x burst factor     (the user's peak)
    utilization u   = average load / that peak; default 1 / burst factor
    tokens / month  = peak tok/s x u x 3,600 x h    (default: RPS x tokens x 3,600 x h)
    per million tokens        = monthly / (tokens per month / 1e6)
    per million output tokens = monthly / (output tokens per month / 1e6)
    per user per month        = monthly / concurrent users

Break-even: self-hosted cost is fixed for the sized deployment, an API bill is linear in
tokens, so the API bill equals it at ``monthly / API price x 1e6`` tokens a month; above
that volume self-hosting is cheaper (as long as the deployment can serve it:
``capacity_tokens_per_month`` = active replicas x tok/s per replica x 3,600 x h).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from xlsizer.catalog.loader import read_data_file
from xlsizer.catalog.schema import GpuSpec, ModelSpec, PriceRange
from xlsizer.units import count, figure

_D = read_data_file("defaults.yaml")
_C: dict[str, Any] = _D["cost"]
HOURS_PER_MONTH: float = float(_C["hours_per_month"])
AMORTIZATION_YEARS: float = float(_C["amortization_years"])
MAINTENANCE_PCT: float = float(_C["maintenance_pct_per_year"])
ELECTRICITY_PRICE: float = float(_C["electricity_price_per_kwh"])
API_PRICE: float = float(_C["api_price_per_million_tokens"])
API_PRICE_MODEL: str = str(_C["api_price_model"])  # the catalog model API_PRICE is quoted for
DEFAULTS_CURRENCY: str = str(_C["defaults_currency"])  # of the prices above (the catalog's say their own)
_USD_SPELLINGS = frozenset({"USD", "US$", "$"})
# A judgement, not a price model: within a factor of 2 of the reference model's parameters a
# dense model is taken as the same API price class (70B variants such as Llama 3.3 70B or
# Qwen2.5-72B); an 8B or a 405B model is not, nor a MoE, which providers price by neither its
# total nor its active size alone. Outside it the sizing says so rather than compare (issue 22 audit).
API_PRICE_CLASS_FACTOR = 2.0
SERVER_PRICE: dict[str, float] = {k: float(v) for k, v in _C["server_price_by_class"].items()}
CROSSOVER: tuple[float, float] = (float(_C["crossover_api_spend_per_year"][0]),
                                  float(_C["crossover_api_spend_per_year"][1]))
LARGE_MIN_GPUS: int = int(_D["server_power"]["large_min_gpus"])
SECONDS_PER_HOUR = 3600.0
MILLION = 1e6

SOURCES: dict[str, str] = dict(_C["sources"])
"""Readable source of each default (document and section, as a report prints it)."""
S_ISSUE = SOURCES["model"]


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """One scenario's cost. Money fields are None when a price is unknown (see warnings)."""

    pricing_model: str
    currency: str
    monthly: float | None
    annual: float | None
    compute: float | None
    maintenance: float
    power: float
    facility: float
    capex: float | None
    per_million_tokens: float | None
    per_million_output_tokens: float | None
    per_user_month: float | None
    breakeven_api_monthly_tokens: float | None
    breakeven_api_annual_spend: float | None
    api_price_per_million_tokens: float
    api_monthly_at_expected_load: float
    self_hosting_cheaper: bool | None
    tokens_per_month: float
    output_tokens_per_month: float
    capacity_tokens_per_month: float | None
    expected_utilization: float
    hours_per_month: float
    explain: tuple[tuple[str, Any, str, str, str], ...] = ()
    """(name, value, unit, formula, source) rows; the pipeline prefixes the scenario."""
    warnings: tuple[str, ...] = ()
    gpus_in_use: int = 0
    """GPUs the replicas use (replicas x GPUs per replica)."""
    gpus_paid: int = 0
    """GPUs the bill counts: cloud the GPUs in use, on-prem every slot of every bought server."""
    whole_node_gpus: int = 0
    """GPU slots of the servers the plan packs the replicas into (servers x GPUs per server); cloud:
    of the whole nodes a cloud renting only whole nodes would need (``whole_node_servers`` of them)."""
    whole_node_servers: int = 0
    servers: int = 0
    monthly_whole_nodes: float | None = None
    """Cloud: the monthly bill if whole nodes are rented (whole_node_gpus x price x h); on-prem:
    the monthly cost (it already buys whole servers). None when a price is unknown."""
    price_per_gpu: float | None = None
    """Cloud: price per GPU-hour; on-prem: purchase price per GPU. None when unknown."""
    basis: str = ""
    """What is bought or rented, in words (the headline's cost sentence)."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON ``cost`` object (explanation and warnings live elsewhere in the result)."""
        return {k: getattr(self, k) for k in _JSON_KEYS}


_JSON_KEYS: tuple[str, ...] = tuple(f.name for f in fields(CostBreakdown) if f.name not in ("explain", "warnings"))


def basis_sentence(c: dict[str, Any], gpu_name: str, gpus_per_server: int) -> str:
    """The headline's cost sentence: what is bought or rented and what it costs a month.

    ``c`` is a scenario's cost object (``CostBreakdown.as_dict()``)."""
    cur = c["currency"]
    if c.get("monthly") is None:
        what = "cloud price" if c["pricing_model"] == "cloud" else "purchase price"
        field = "cloud_price_per_gpu_hour" if c["pricing_model"] == "cloud" else "gpu_purchase_price"
        return f"Cost unknown: the catalog has no {what} for {gpu_name}; enter {field}."
    used, nodes = c["gpus_in_use"], c["whole_node_gpus"]
    if c["pricing_model"] == "cloud":
        text = (f"Cost basis: cloud, renting the {count(used, 'GPU')} in use at {c['price_per_gpu']:,.2f} "
                f"{cur}/GPU-hour = {c['monthly']:,.0f} {cur}/month")
        if nodes > used and c.get("monthly_whole_nodes") is not None:
            per = nodes // c["whole_node_servers"] if c.get("whole_node_servers") else gpus_per_server
            text += (f"; as whole {per}-GPU nodes ({count(nodes, 'GPU')}) "
                     f"{c['monthly_whole_nodes']:,.0f} {cur}/month")
        return text + "."
    return (f"Cost basis: on-prem, buying {count(c['servers'], 'whole server')} with "
            f"{count(c['gpus_paid'], 'GPU')} ({c['capex']:,.0f} {cur}) = {c['monthly']:,.0f} {cur}/month "
            "amortized, with maintenance and power.")


# --- pure formulas ------------------------------------------------------------------------
def default_utilization(burst_factor: float) -> float:
    """Average load over the sized peak when the user states none: 1 / burst factor."""
    return 1.0 / burst_factor


def tokens_per_month(rps: float, tokens_per_request: float, burst_factor: float, utilization: float,
                     hours: float) -> float:
    """Tokens served in a month: peak tok/s (RPS x tokens x burst) x utilization x 3,600 x hours."""
    return rps * tokens_per_request * burst_factor * utilization * SECONDS_PER_HOUR * hours


def cloud_monthly(gpus: int, price_per_gpu_hour: float, hours: float) -> float:
    """Rented GPUs: GPUs x price per GPU-hour x hours (billed whether busy or not)."""
    return gpus * price_per_gpu_hour * hours


def onprem_capex(gpus: int, gpu_price: float, servers: int, server_price: float) -> float:
    """Purchase: GPUs x GPU price + servers x price of a server without its GPUs."""
    return gpus * gpu_price + servers * server_price


def onprem_monthly(
    capex: float, years: float, maintenance_pct: float, it_kw: float, pue: float, hours: float,
    electricity_price: float, colocation_per_kw_month: float | None,
) -> tuple[float, float, float, float]:
    """(compute, maintenance, power, facility) per month for owned hardware."""
    compute = capex / (years * 12.0)
    maintenance = capex * maintenance_pct / 100.0 / 12.0
    return (compute, maintenance, power_monthly(it_kw, pue, hours, electricity_price),
            colocation_monthly(colocation_per_kw_month, it_kw))


def power_monthly(it_kw: float, pue: float, hours: float, electricity_price: float) -> float:
    """Electricity: IT kW x PUE x hours x price per kWh (nameplate IT power, so an upper bound)."""
    return it_kw * pue * hours * electricity_price


def colocation_monthly(colocation_per_kw_month: float | None, it_kw: float) -> float:
    """Colocation rent per kW of contracted IT load (power metered separately); 0 when not set."""
    return colocation_per_kw_month * it_kw if colocation_per_kw_month is not None else 0.0


def breakeven_monthly_tokens(monthly: float, api_price_per_million: float) -> float:
    """Monthly tokens at which an API bill equals the (fixed) self-hosted monthly cost."""
    return monthly / api_price_per_million * MILLION


def server_class(gpus_per_server: int) -> str:
    """large (8-GPU HGX class), medium (2-4 GPUs) or small (1 GPU), as defaults.yaml server_power."""
    if gpus_per_server >= LARGE_MIN_GPUS:
        return "large"
    return "medium" if gpus_per_server >= 2 else "small"


def api_price_warning(inp: Any, model: ModelSpec, reference: ModelSpec) -> str | None:
    """A warning where the break-even compares with the default API price (``API_PRICE``, quoted
    for ``reference``, the catalog's ``API_PRICE_MODEL``) but ``model`` is outside its price
    class (``API_PRICE_CLASS_FACTOR``): an 8B model measured against a 70B model's API price
    makes self-hosting look cheaper than it is, by the ratio of the two prices. ``inp`` is a
    SizingInputs. None where the user gave a price or the model is of the reference's class."""
    if inp.api_price_per_million_tokens is not None or model.id == reference.id:
        return None
    ratio = model.total_params_b / reference.total_params_b
    if not model.is_moe and 1.0 / API_PRICE_CLASS_FACTOR <= ratio <= API_PRICE_CLASS_FACTOR:
        return None
    name = "the custom model" if model.id == "custom" else model.id
    size = (f"is a MoE of {model.total_params_b:g}B parameters ({model.active_params_b:g}B active)" if model.is_moe
            else f"has {model.total_params_b:g}B parameters")
    return (f"cost: the API comparison (API cost at the same volume, break-even) uses the default API price, "
            f"{API_PRICE:g} per million tokens, a {reference.total_params_b:g}B model's ({reference.id}); {name} "
            f"{size} and is priced differently: enter api_price_per_million_tokens, the price of the API you would "
            "use instead")


def _same_currency(a: str, b: str) -> bool:
    a, b = a.strip().upper(), b.strip().upper()
    return a == b or (a in _USD_SPELLINGS and b in _USD_SPELLINGS)


def currency_warning(inp: Any, gpu: GpuSpec) -> str | None:
    """A warning where the input ``currency`` differs from the currency of a price the sizing
    takes as a default: the field is a label, not a conversion, so the catalog's 2.95 USD per
    GPU-hour was shown as "2.95 JPY/GPU-hour" and every total with it. Lists the money inputs
    left empty whose defaults are in another currency (the cost basis's: cloud price, or GPU
    purchase, server and electricity prices; the API price for both). None where there are none."""
    cur = inp.currency
    fields: list[tuple[str, PriceRange | None, bool]] = (
        [("cloud_price_per_gpu_hour", gpu.cloud_price_per_gpu_hour, True)] if inp.pricing_model == "cloud" else
        [("gpu_purchase_price", gpu.purchase_price_per_gpu, True), ("server_purchase_price", None, False),
         ("electricity_price_per_kwh", None, False)])
    fields.append(("api_price_per_million_tokens", None, False))
    foreign: list[str] = []
    for name, catalog, from_catalog in fields:
        if getattr(inp, name) is not None or (from_catalog and catalog is None):
            continue  # the user's own price, or none to take (warned apart)
        if not _same_currency(catalog.currency if catalog is not None else DEFAULTS_CURRENCY, cur):
            foreign.append(name)
    if not foreign:
        return None
    return (f"cost: currency {cur} is a label, not a conversion: {', '.join(foreign)} left empty take xlsizer's "
            f"{DEFAULTS_CURRENCY} prices, shown as {cur} unconverted; enter them in {cur}")


def _crossover_words(annual: float, cur: str) -> str:
    lo, hi = CROSSOVER
    where = ("below" if annual < lo else "within" if annual <= hi else "above")
    return (f"break-even API spend {annual:,.0f} {cur}/year is {where} the course's rule-of-thumb crossover "
            f"of {lo / 1e6:g}-{hi / 1e6:g}M/year (aisle course, §1)")


# --- one scenario ---------------------------------------------------------------------------
def _price(entered: float | None, catalog: PriceRange | None, gpu_id: str, field: str,
           fmt: str) -> tuple[float | None, str]:
    """(price, source): the user's input, else the catalog's typical price with its range,
    date and source; None when neither exists."""
    if entered is not None or catalog is None:
        return entered, f"input {field}"
    return catalog.typical, (f"xlsizer GPU catalog, {gpu_id}: typical of {catalog.low:{fmt}}-{catalog.high:{fmt}} "
                             f"{catalog.currency}, as of {catalog.as_of} ({catalog.source})")


def gpu_purchase_price(inp: Any, gpu: GpuSpec) -> float | None:
    """On-prem price per GPU: the user's ``gpu_purchase_price``, else the catalog's typical; None
    without either (as ``scenario_cost`` bills it)."""
    return _price(inp.gpu_purchase_price, gpu.purchase_price_per_gpu, gpu.id, "gpu_purchase_price", ",.0f")[0]


def server_price(inp: Any, gpus_per_server: int) -> float:
    """On-prem price of a server without its GPUs that holds ``gpus_per_server`` of them: the
    user's ``server_purchase_price``, else its size class's (as ``scenario_cost`` bills it)."""
    if inp.server_purchase_price is not None:
        return float(inp.server_purchase_price)
    return SERVER_PRICE[server_class(gpus_per_server)]


def scenario_cost(inp: Any, gpu: GpuSpec, *, total_gpus: int, servers: int, gpus_per_server: int, it_kw: float,
                  pue: float, rps: float, prompt_tokens: int, output_tokens: int,
                  capacity_tok_s: float | None = None,
                  whole_nodes: tuple[int, int] | None = None) -> CostBreakdown:
    """The cost of one sized scenario. ``inp`` is a SizingInputs (duck-typed to keep this pure);
    ``pue`` is the sizing's facility PUE (pipeline._site: the user's ``pue_override``, else an
    NVL72 rack's or the cooling tier's), the one its facility power uses. ``whole_nodes``:
    (servers, GPUs per server) a cloud renting only whole nodes would need, when that packing
    differs from the plan's (the redundancy rule spreads per-GPU cloud replicas over hosts, while
    whole nodes are filled with spares: pipeline._fleet); default the plan's own servers."""
    cur = inp.currency
    hours = inp.hours_per_month
    model = inp.pricing_model
    rows: list[tuple[str, Any, str, str, str]] = []
    warns: list[str] = []

    # --- served tokens -------------------------------------------------------------------
    burst = inp.burst_factor
    if inp.expected_utilization is None:
        u = default_utilization(burst)
        u_src = f"default 1 / burst factor {burst:g}"
    else:
        u = inp.expected_utilization
        u_src = "input expected_utilization"
    tok_m = tokens_per_month(rps, prompt_tokens + output_tokens, burst, u, hours)
    out_m = tokens_per_month(rps, output_tokens, burst, u, hours)
    cap_m = capacity_tok_s * SECONDS_PER_HOUR * hours if capacity_tok_s is not None else None
    rows += [
        ("Expected utilization", u, "", "average load / peak (RPS x tokens x burst)", u_src),
        ("Tokens served per month", tok_m, "tokens",
         f"RPS {figure(rps, 4)} x ({prompt_tokens:,} + {output_tokens:,}) x burst {burst:g} x u {u:.3g} x 3,600 x "
         f"{hours:g} h",
         S_ISSUE),
    ]

    # --- the bill --------------------------------------------------------------------------
    compute: float | None
    maint = power = fac = 0.0
    capex: float | None = None
    node_servers, node_per = whole_nodes if whole_nodes is not None and model == "cloud" else (servers, gpus_per_server)
    node_gpus = node_servers * node_per
    paid = total_gpus
    whole: float | None = None
    unit_price: float | None = None
    if model == "cloud":
        price, p_src = _price(inp.cloud_price_per_gpu_hour, gpu.cloud_price_per_gpu_hour, gpu.id,
                              "cloud_price_per_gpu_hour", "g")
        if price is None:
            compute = None
            warns.append(f"cost: the catalog has no cloud price for {gpu.id}; enter cloud_price_per_gpu_hour")
            rows.append(("Cloud price per GPU-hour", "unknown", f"{cur}/GPU-h", "", p_src))
        else:
            unit_price = price
            compute = cloud_monthly(total_gpus, price, hours)
            whole = cloud_monthly(max(node_gpus, total_gpus), price, hours)
            rows += [
                ("Cloud price per GPU-hour", price, f"{cur}/GPU-h", "on-demand, power and facility included", p_src),
                ("Cost: compute (cloud)", compute, f"{cur}/month",
                 f"{count(total_gpus, 'GPU')} in use x {price:g} x {hours:g} h", S_ISSUE),
            ]
            if node_gpus > total_gpus:
                rows.append(("Cost: whole nodes (cloud)", whole, f"{cur}/month",
                             f"{count(node_servers, 'node')} x {count(node_per, 'GPU')} x {price:g} x {hours:g} h "
                             "(when only whole nodes are rented)", S_ISSUE))
    else:
        gp, g_src = _price(inp.gpu_purchase_price, gpu.purchase_price_per_gpu, gpu.id, "gpu_purchase_price", ",.0f")
        # bought GPUs: every slot of every server (HGX/OAM baseboards ship fully populated,
        # PCIe servers get the cards their replicas use), not just the GPUs replicas use
        paid = max(total_gpus, node_gpus)
        cls = server_class(gpus_per_server)
        sp = server_price(inp, gpus_per_server)
        s_src = (f"{SOURCES['server_price_by_class.' + cls]} ({gpus_per_server}-GPU server, GPUs excluded)"
                 if inp.server_purchase_price is None else "input server_purchase_price")
        years = inp.amortization_years if inp.amortization_years is not None else AMORTIZATION_YEARS
        pct = inp.maintenance_pct_per_year if inp.maintenance_pct_per_year is not None else MAINTENANCE_PCT
        elec = inp.electricity_price_per_kwh if inp.electricity_price_per_kwh is not None else ELECTRICITY_PRICE
        colo = inp.colocation_price_per_kw_month
        rows += [
            ("Server price (without GPUs)", sp, f"{cur}/server", f"class {cls}", s_src),
            ("Amortization", years, "years", "straight line, no residual value",
             "input amortization_years" if inp.amortization_years is not None else SOURCES["amortization_years"]),
            ("Maintenance", pct, "%/year", "of capex",
             "input maintenance_pct_per_year" if inp.maintenance_pct_per_year is not None
             else SOURCES["maintenance_pct_per_year"]),
            ("Electricity price", elec, f"{cur}/kWh", "",
             "input electricity_price_per_kwh" if inp.electricity_price_per_kwh is not None
             else SOURCES["electricity_price_per_kwh"]),
            ("PUE (cost)", pue, "", "your facility's" if inp.pue_override is not None else
             "as the PUE row (the cooling tier's, or a GB200 NVL72 rack's)",
             "input pue_override" if inp.pue_override is not None else "aisle course, §10.3 step 16"),
        ]
        power = power_monthly(it_kw, pue, hours, elec)
        fac = colocation_monthly(colo, it_kw)
        rows.append(("Cost: power", power, f"{cur}/month",
                     f"{it_kw:.2f} kW IT x PUE {pue:g} x {hours:g} h x {elec:g} (nameplate: upper bound)",
                     S_ISSUE))
        if colo is not None:
            rows.append(("Cost: facility (colocation)", fac, f"{cur}/month",
                         f"{colo:g} per kW-month x {it_kw:.2f} kW IT", "input colocation_price_per_kw_month"))
        if gp is None:
            compute = None
            warns.append(f"cost: the catalog has no purchase price for {gpu.id}; enter gpu_purchase_price")
            rows.append(("GPU purchase price", "unknown", f"{cur}/GPU", "", g_src))
        else:
            bought = paid
            unit_price = gp
            capex = onprem_capex(bought, gp, servers, sp)
            compute, maint, _, _ = onprem_monthly(capex, years, pct, it_kw, pue, hours, elec, colo)
            rows += [
                ("GPU purchase price", gp, f"{cur}/GPU", "", g_src),
                ("Capex", capex, cur,
                 f"{count(bought, 'GPU')} installed x {gp:,.0f} + {count(servers, 'server')} x {sp:,.0f}", S_ISSUE),
                ("Cost: compute (amortized)", compute, f"{cur}/month", f"capex / ({years:g} years x 12)", S_ISSUE),
                ("Cost: maintenance", maint, f"{cur}/month", f"capex x {pct:g}% / 12", S_ISSUE),
            ]

    money = currency_warning(inp, gpu)
    if money:
        warns.append(money)

    # --- totals, unit costs, break-even ----------------------------------------------------------
    api = inp.api_price_per_million_tokens if inp.api_price_per_million_tokens is not None else API_PRICE
    api_src = ("input api_price_per_million_tokens" if inp.api_price_per_million_tokens is not None
               else SOURCES["api_price_per_million_tokens"])
    api_monthly = api * tok_m / MILLION
    rows.append(("API price", api, f"{cur}/M tokens", "input and output tokens alike", api_src))
    counts = dict(gpus_in_use=total_gpus, gpus_paid=paid, whole_node_gpus=node_gpus, whole_node_servers=node_servers,
                  servers=servers,
                  price_per_gpu=unit_price)
    if compute is None:
        return CostBreakdown(model, cur, None, None, None, maint, power, fac, None, None, None, None, None, None,
                             api, api_monthly, None, tok_m, out_m, cap_m, u, hours, tuple(rows), tuple(warns),
                             **counts, basis="no price")
    monthly = compute + maint + power + fac
    annual = monthly * 12.0
    be = breakeven_monthly_tokens(monthly, api)
    per_m = monthly / (tok_m / MILLION) if tok_m > 0 else None
    per_m_out = monthly / (out_m / MILLION) if out_m > 0 else None
    per_user = monthly / inp.concurrent_users
    cheaper = monthly < api_monthly
    rows += [
        ("Cost per month", monthly, f"{cur}/month", "compute + maintenance + power + facility", S_ISSUE),
        ("Cost per year", annual, f"{cur}/year", "monthly x 12", S_ISSUE),
        ("Cost per million tokens", per_m if per_m is not None else "n/a", f"{cur}/M tokens",
         "monthly / (tokens served per month / 1e6)", S_ISSUE),
        ("Cost per million output tokens", per_m_out if per_m_out is not None else "n/a", f"{cur}/M tokens",
         "monthly / (output tokens served per month / 1e6)", S_ISSUE),
        ("Cost per user per month", per_user, f"{cur}/user-month", f"monthly / {count(inp.concurrent_users, 'user')}",
         S_ISSUE),
        ("Break-even API volume", be, "tokens/month",
         f"monthly / API price x 1e6; {_crossover_words(annual, cur)}; at the expected load the API would cost "
         f"{api_monthly:,.0f}/month, so self-hosting is {'cheaper' if cheaper else 'dearer'}"
         + (f"; the sized replicas serve at most {cap_m:,.0f} tokens/month, so this deployment cannot reach "
            "break-even" if cap_m is not None and be > cap_m else ""), S_ISSUE),
    ]
    if model != "cloud":
        whole = monthly
    basis = (f"{count(total_gpus, 'GPU')} in use, rented by the GPU-hour" if model == "cloud"
             else f"{count(servers, 'whole server')} bought ({count(paid, 'GPU')})")
    return CostBreakdown(model, cur, monthly, annual, compute, maint, power, fac, capex, per_m, per_m_out, per_user,
                         be, annual, api, api_monthly, cheaper, tok_m, out_m, cap_m, u, hours,
                         tuple(rows), tuple(warns), **counts, monthly_whole_nodes=whole, basis=basis)
