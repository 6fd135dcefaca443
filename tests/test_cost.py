"""Issue 5: cost, TCO and break-even. Hand-checked arithmetic, monotonicity, input rejection."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xlsizer
from xlsizer import InputError, load_catalog, make_inputs
from xlsizer.engine import cost

KEYS = {"monthly", "annual", "per_million_output_tokens", "per_million_tokens", "per_user_month",
        "breakeven_api_monthly_tokens", "pricing_model", "currency", "compute", "power", "facility", "maintenance"}
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORKLOAD = dict(concurrent_users=80, requests_per_user_per_minute=2, avg_prompt_tokens=2000,
                avg_output_tokens=500, burst_factor=3.0)


def _monthly(**kw):
    return xlsizer.size(**kw).burst.extra["cost"]["monthly"]


# --- hand-checked examples --------------------------------------------------------------------
def test_cloud_hand_checked():
    r = xlsizer.size(gpu="h100-sxm", cloud_price_per_gpu_hour=3.0, **WORKLOAD)
    s = r.burst
    c = s.extra["cost"]
    assert set(c) >= KEYS
    assert c["pricing_model"] == "cloud" and c["currency"] == "USD"
    # GPUs x price x hours; power and facility are in the cloud price
    monthly = s.total_gpus * 3.0 * 730
    assert c["compute"] == pytest.approx(monthly)
    assert c["power"] == 0 and c["facility"] == 0 and c["maintenance"] == 0
    assert c["monthly"] == pytest.approx(monthly)
    assert c["annual"] == pytest.approx(12 * monthly)
    # tokens served: RPS (80 x 2 / 60) x 2,500 tokens x burst 3 x utilization 1/3 x 3,600 s x 730 h
    rps = 80 * 2 / 60
    tokens = rps * (2000 + 500) * 3.0 * (1 / 3.0) * 3600 * 730
    out_tokens = rps * 500 * 3600 * 730
    assert c["tokens_per_month"] == pytest.approx(tokens)
    assert c["per_million_tokens"] == pytest.approx(monthly / (tokens / 1e6))
    assert c["per_million_output_tokens"] == pytest.approx(monthly / (out_tokens / 1e6))
    assert c["per_user_month"] == pytest.approx(monthly / 80)
    # break-even against the default API price 0.88 per million tokens
    assert c["breakeven_api_monthly_tokens"] == pytest.approx(monthly / 0.88 * 1e6)
    assert c["api_monthly_at_expected_load"] == pytest.approx(0.88 * tokens / 1e6)
    # every scenario has its own cost on the same traffic
    for sc in r.scenarios.values():
        assert sc.extra["cost"]["monthly"] == pytest.approx(sc.total_gpus * 3.0 * 730)
        assert sc.extra["cost"]["tokens_per_month"] == pytest.approx(tokens)
    # JSON carries the cost object per scenario
    assert r.to_json()["scenarios"]["burst"]["cost"]["monthly"] == pytest.approx(monthly)


def test_cloud_default_price_comes_from_catalog_with_source():
    pr = load_catalog().gpu("h100-sxm").cloud_price_per_gpu_hour
    r = xlsizer.size(gpu="h100-sxm", **WORKLOAD)
    s = r.burst
    assert s.extra["cost"]["monthly"] == pytest.approx(s.total_gpus * pr.typical * 730)
    step = next(st_ for st_ in r.explain() if st_.scenario == "burst" and st_.name == "Cloud price per GPU-hour")
    assert step.value == pr.typical and pr.as_of in step.source and pr.source in step.source


def test_on_prem_hand_checked():
    r = xlsizer.size(gpu="h100-sxm", pricing_model="on-prem", gpu_purchase_price=25_000,
                     server_purchase_price=80_000, amortization_years=4, maintenance_pct_per_year=10,
                     electricity_price_per_kwh=0.10, pue_override=1.3, colocation_price_per_kw_month=150,
                     currency="EUR", **WORKLOAD)
    s = r.burst
    c = s.extra["cost"]
    assert c["pricing_model"] == "on-prem" and c["currency"] == "EUR"
    installed = s.servers * s.gpus_per_server      # an HGX board is bought with all 8 GPUs
    assert installed >= s.total_gpus
    capex = installed * 25_000 + s.servers * 80_000
    compute = capex / (4 * 12)                     # straight-line amortization
    maintenance = capex * 10 / 100 / 12            # 10 % of capex a year
    power = s.it_kw * 1.3 * 730 * 0.10            # IT kW x PUE x hours x price per kWh
    facility = 150 * s.it_kw                        # colocation per kW of IT load
    assert c["capex"] == pytest.approx(capex)
    assert c["compute"] == pytest.approx(compute)
    assert c["maintenance"] == pytest.approx(maintenance)
    assert c["power"] == pytest.approx(power)
    assert c["facility"] == pytest.approx(facility)
    assert c["monthly"] == pytest.approx(compute + maintenance + power + facility)
    assert c["annual"] == pytest.approx(12 * (compute + maintenance + power + facility))


def test_on_prem_defaults_use_cooling_tier_pue_and_sourced_constants():
    s = xlsizer.size(gpu="h100-sxm", pricing_model="on-prem", **WORKLOAD).burst
    c = s.extra["cost"]
    gp = load_catalog().gpu("h100-sxm").purchase_price_per_gpu.typical
    server = cost.SERVER_PRICE[cost.server_class(s.gpus_per_server)]
    capex = s.servers * s.gpus_per_server * gp + s.servers * server
    expected = (capex / (cost.AMORTIZATION_YEARS * 12) + capex * cost.MAINTENANCE_PCT / 100 / 12
                + s.it_kw * s.pue * 730 * cost.ELECTRICITY_PRICE)
    assert c["facility"] == 0
    assert c["monthly"] == pytest.approx(expected)


def test_explanation_names_every_assumption_and_the_course_crossover():
    r = xlsizer.size(gpu="h100-sxm", pricing_model="on-prem", **WORKLOAD)
    steps = {st_.name: st_ for st_ in r.explain() if st_.scenario == "burst"}
    for name in ("GPU purchase price", "Server price (without GPUs)", "Amortization", "Maintenance",
                 "Electricity price", "PUE (cost)", "API price", "Expected utilization", "Cost per month",
                 "Break-even API volume"):
        assert name in steps and steps[name].source, name
    assert "aisle course, §1" in steps["Break-even API volume"].formula


def test_missing_catalog_price_gives_none_and_a_warning_not_an_error():
    gpu = next((g for g in load_catalog().gpus.values() if g.purchase_price_per_gpu is None
                and g.id in ("h100-pcie", "l40s", "a100-80gb", "mi300x")), None)
    if gpu is None:
        pytest.skip("every candidate GPU has a purchase price")
    r = xlsizer.size(gpu=gpu.id, pricing_model="on-prem", model="llama-3.1-8b")
    c = r.burst.extra["cost"]
    assert c["monthly"] is None and c["breakeven_api_monthly_tokens"] is None
    assert any("gpu_purchase_price" in w for w in r.burst.warnings)
    r2 = xlsizer.size(gpu=gpu.id, pricing_model="on-prem", model="llama-3.1-8b", gpu_purchase_price=10_000)
    assert r2.burst.extra["cost"]["monthly"] > 0


# --- properties -------------------------------------------------------------------------------
@FAST
@given(st.floats(1, 3000), st.floats(1, 3000), st.sampled_from(["cloud", "on-prem"]))
def test_more_users_on_a_fixed_gpu_never_cost_less(u1, u2, pricing):
    lo, hi = sorted((u1, u2))
    a = xlsizer.size(gpu="h100-sxm", pricing_model=pricing, concurrent_users=lo).burst
    b = xlsizer.size(gpu="h100-sxm", pricing_model=pricing, concurrent_users=hi).burst
    assert b.total_gpus >= a.total_gpus
    assert b.extra["cost"]["monthly"] >= a.extra["cost"]["monthly"] - 1e-6


@FAST
@given(st.floats(0.5, 20), st.floats(0.5, 20), st.integers(1, 2000))
def test_lower_cloud_price_never_costs_more(p1, p2, users):
    lo, hi = sorted((p1, p2))
    kw = dict(gpu="h100-sxm", concurrent_users=users)
    assert _monthly(cloud_price_per_gpu_hour=lo, **kw) <= _monthly(cloud_price_per_gpu_hour=hi, **kw) + 1e-6


@FAST
@given(st.floats(1000, 100_000), st.floats(1000, 100_000), st.floats(0.01, 1), st.floats(0.01, 1))
def test_lower_on_prem_prices_never_cost_more(g1, g2, e1, e2):
    kw = dict(gpu="h100-sxm", pricing_model="on-prem")
    glo, ghi = sorted((g1, g2))
    elo, ehi = sorted((e1, e2))
    assert (_monthly(gpu_purchase_price=glo, electricity_price_per_kwh=elo, **kw)
            <= _monthly(gpu_purchase_price=ghi, electricity_price_per_kwh=ehi, **kw) + 1e-6)


# gpu='auto' (roofline) picks the cheapest adequate configuration, and which configurations
# are adequate does not depend on the load, so the cheapest one can only get dearer as load
# grows. (The course-table path keeps the course's first-fit search order, which is not
# cost-aware: there 255 users once gave 64x h100-sxm and 810 users 88x mi300x, cheaper.)


@FAST
@given(st.floats(1, 3000), st.floats(1, 3000))
def test_auto_gpu_more_users_never_lower_monthly_cost(u1, u2):
    lo, hi = sorted((u1, u2))
    assert _monthly(concurrent_users=lo) <= _monthly(concurrent_users=hi) + 1e-6


def test_auto_gpu_former_counterexample_255_vs_810_users():
    assert _monthly(concurrent_users=255) <= _monthly(concurrent_users=810)


def test_breakeven_is_where_api_bill_equals_self_hosted_cost():
    c = xlsizer.size(gpu="h100-sxm", api_price_per_million_tokens=5.0).burst.extra["cost"]
    assert 5.0 * c["breakeven_api_monthly_tokens"] / 1e6 == pytest.approx(c["monthly"])
    assert c["self_hosting_cheaper"] == (c["api_monthly_at_expected_load"] > c["monthly"])


def test_expected_utilization_scales_tokens_not_cost():
    a = xlsizer.size(gpu="h100-sxm", expected_utilization=0.5).burst.extra["cost"]
    b = xlsizer.size(gpu="h100-sxm", expected_utilization=0.25).burst.extra["cost"]
    assert a["monthly"] == pytest.approx(b["monthly"])
    assert a["tokens_per_month"] == pytest.approx(2 * b["tokens_per_month"])
    assert b["per_million_tokens"] == pytest.approx(2 * a["per_million_tokens"])


# --- rejection --------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["cloud_price_per_gpu_hour", "gpu_purchase_price", "server_purchase_price",
                                   "electricity_price_per_kwh", "colocation_price_per_kw_month",
                                   "api_price_per_million_tokens", "hours_per_month"])
@pytest.mark.parametrize("value", [0, -1, -0.01])
def test_zero_or_negative_prices_rejected(field, value):
    with pytest.raises(InputError) as e:
        make_inputs(**{field: value})
    assert e.value.field == field
    assert field in str(e.value) and "greater than 0" in str(e.value)


@pytest.mark.parametrize("value", [0, 1.5, -0.2])
def test_impossible_utilization_rejected(value):
    with pytest.raises(InputError) as e:
        make_inputs(expected_utilization=value)
    assert e.value.field == "expected_utilization"
    assert "expected_utilization" in str(e.value) and "at most 1" in str(e.value)


@pytest.mark.parametrize(("field", "value"), [("amortization_years", 0), ("maintenance_pct_per_year", -5),
                                              ("pue_override", 0.9), ("pricing_model", "leasing")])
def test_other_cost_inputs_range_checked(field, value):
    with pytest.raises(InputError) as e:
        make_inputs(**{field: value})
    assert field in str(e.value)


def test_pricing_model_spellings():
    assert make_inputs(pricing_model="On Prem").pricing_model == "on-prem"
    assert make_inputs(pricing_model="on_premises").pricing_model == "on-prem"
    assert make_inputs(pricing_model="CLOUD").pricing_model == "cloud"


# --- one cost basis, stated in the headline (issue 14) -----------------------------------------
def test_cloud_rents_gpus_in_use_and_states_whole_nodes_when_they_differ():
    r = xlsizer.size(gpu="h100-sxm", cloud_price_per_gpu_hour=3.0, concurrent_users=40)
    s = r.burst
    c = s.extra["cost"]
    # whole nodes are packed as on-prem would, spares filling free slots, where the per-GPU plan
    # spreads its replicas over hosts (docs/method.md "Spares and servers"): never more nodes
    slots = c["whole_node_servers"] * s.gpus_per_server
    assert c["whole_node_servers"] <= s.servers
    assert slots > s.total_gpus, "this case must pack into nodes with free slots"
    assert c["gpus_in_use"] == c["gpus_paid"] == s.total_gpus and c["whole_node_gpus"] == slots
    assert c["monthly"] == pytest.approx(s.total_gpus * 3.0 * 730)
    assert c["monthly_whole_nodes"] == pytest.approx(slots * 3.0 * 730)
    assert f"renting the {s.total_gpus} GPUs in use at 3.00 USD/GPU-hour = {c['monthly']:,.0f} USD/month" in r.headline
    assert f"whole 8-GPU nodes ({slots} GPUs) {c['monthly_whole_nodes']:,.0f} USD/month" in r.headline


def test_on_prem_buys_whole_servers_and_says_so():
    r = xlsizer.size(gpu="h100-sxm", pricing_model="on-prem", concurrent_users=40)
    s = r.burst
    c = s.extra["cost"]
    assert c["gpus_paid"] == s.servers * s.gpus_per_server > c["gpus_in_use"] == s.total_gpus
    assert c["monthly_whole_nodes"] == c["monthly"]
    assert (f"buying {s.servers} whole servers with {c['gpus_paid']} GPUs ({c['capex']:,.0f} USD) = "
            f"{c['monthly']:,.0f} USD/month") in r.headline


@pytest.mark.parametrize("users", [5, 80, 600, 3000])
def test_on_prem_automatic_choice_picks_a_priced_gpu(users):
    r = xlsizer.size(pricing_model="on-prem", concurrent_users=users)
    for s in r.scenarios.values():
        assert load_catalog().gpu(s.gpu).purchase_price_per_gpu is not None, (users, s.gpu)
        assert s.extra["cost"]["monthly"] > 0
    assert "Cost basis: on-prem" in r.headline


def test_on_prem_choice_is_the_cheapest_bill_among_priced_gpus():
    """The on-prem ranking prices what is bought (whole servers), so the chosen GPU's monthly bill
    is no dearer than the same sizing on any other priced automatic candidate."""
    for users in (5, 300):
        chosen = xlsizer.size(pricing_model="on-prem", concurrent_users=users).burst
        for g in ("h100-sxm", "h200-sxm", "b200"):
            other = xlsizer.size(pricing_model="on-prem", concurrent_users=users, gpu=g).burst
            assert chosen.extra["cost"]["capex"] <= other.extra["cost"]["capex"] + 1e-6, (users, g)


def test_unpriced_gpu_is_said_plainly_in_the_headline():
    # the course-table method keeps the course's first-fit search, which may land on a GPU the
    # catalog has no purchase price for: the headline must say so, not leave the cost blank
    r = xlsizer.size(pricing_model="on-prem", gpu="a100-80gb", model="llama-3.1-8b")
    assert r.burst.extra["cost"]["monthly"] is None
    assert "Cost unknown: the catalog has no purchase price for NVIDIA A100" in r.headline
    assert "enter gpu_purchase_price" in r.headline
    assert r.burst.extra["cost"]["gpus_paid"] == r.burst.servers * r.burst.gpus_per_server  # still whole servers


@pytest.mark.parametrize("kw", [
    dict(concurrent_users=5), dict(concurrent_users=900), dict(model="llama-3.1-8b", concurrent_users=3000),
    dict(model="deepseek-r1", concurrent_users=50), dict(model="qwen3-32b", precision="bf16", target_tpot_ms=20),
    dict(redundancy_mode="N+2", concurrent_users=333, avg_prompt_tokens=12_000),
])
def test_on_prem_pruned_search_equals_exhaustive(kw):
    """The on-prem ranking counts whole servers bought, so GPUs in use x price is only a lower
    bound of a candidate's cost: the pruned search must still return the exhaustive answer."""
    from xlsizer.engine import search

    def answer():
        r = xlsizer.size(pricing_model="on-prem", **kw)
        return [(s.gpu, s.gpus_per_replica, s.replicas, s.extra["cost"]["capex"]) for s in r.scenarios.values()]

    pruned = answer()
    search.PRUNE = False
    try:
        full = answer()
    finally:
        search.PRUNE = True
    assert pruned == full


def _sized_warnings(**inputs):
    return xlsizer.size(make_inputs(inputs)).warnings


def test_api_comparison_outside_the_default_price_class_is_flagged():
    # the default API price is a 70B dense model's: an 8B, a 405B or a MoE sized against it
    # would read "self-hosting is cheaper" by the ratio of two models' prices
    def flagged(**kw):
        return [w for w in _sized_warnings(**kw) if w.startswith("cost: the API comparison")]

    for model in ("llama-3.1-8b", "llama-3.1-405b", "mixtral-8x7b"):
        (w,) = flagged(model=model)
        assert model in w and "api_price_per_million_tokens" in w and f"{cost.API_PRICE:g}" in w
    assert "MoE of 46.7B parameters (12.9B active)" in flagged(model="mixtral-8x7b")[0]
    assert flagged(model="llama-3.3-70b") == [] and flagged(model="qwen2.5-72b") == []  # same class
    assert flagged(model="llama-3.1-8b", api_price_per_million_tokens=0.2) == []  # the user's own price


def test_facility_pue_sets_facility_power_and_the_bill_alike():
    # the user's facility PUE replaces the tier's estimate everywhere: facility kW and the power
    # bill agree (facility kW was the tier's 1.5 while the bill used 1.1)
    tier = xlsizer.size(make_inputs({"pricing_model": "on-prem"})).burst
    own = xlsizer.size(make_inputs({"pricing_model": "on-prem", "pue_override": 1.1})).burst
    assert tier.pue == 1.5 and own.pue == 1.1 and own.it_kw == tier.it_kw
    assert own.facility_kw == pytest.approx(own.it_kw * 1.1)
    c = own.extra["cost"]
    assert c["power"] == pytest.approx(cost.power_monthly(own.it_kw, 1.1, cost.HOURS_PER_MONTH, cost.ELECTRICITY_PRICE))
    rows = {(s.scenario, s.name): s for s in xlsizer.size(make_inputs({"pue_override": 1.1})).explain()}
    assert rows[("burst", "PUE")].source == "input pue_override"
    assert "by cooling tier (traditional air): 1.5" in rows[("burst", "PUE")].formula
    nvl = {(s.scenario, s.name): s for s in xlsizer.size(make_inputs({"gpu": "gb200"})).explain()}
    assert (nvl[("burst", "PUE")].value, nvl[("burst", "PUE")].formula) == (1.1, "GB200 NVL72 liquid-cooled rack")


def test_a_currency_label_without_prices_in_it_is_warned():
    # `currency` is a label: the catalog's USD prices were shown as "2.95 JPY/GPU-hour" silently
    def said(**kw):
        return [w for w in xlsizer.size(make_inputs(kw)).warnings if "is a label, not a conversion" in w]

    (w,) = said(currency="JPY")
    assert "cloud_price_per_gpu_hour, api_price_per_million_tokens left empty" in w and "enter them in JPY" in w
    assert said(currency="JPY", cloud_price_per_gpu_hour=450, api_price_per_million_tokens=130) == []
    (w,) = said(currency="EUR", pricing_model="on-prem", gpu_purchase_price=25000)
    assert "server_purchase_price, electricity_price_per_kwh, api_price_per_million_tokens left empty" in w
    assert said() == [] and said(currency="usd") == [] and said(currency="$") == []
    # the numbers themselves are unchanged: a label, as the input says
    assert (xlsizer.size(make_inputs({"currency": "JPY"})).burst.extra["cost"]["monthly"]
            == xlsizer.size(make_inputs({})).burst.extra["cost"]["monthly"])
