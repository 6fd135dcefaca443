"""The redundancy rule (issue 24 item 5): a plan with spares survives the loss of any one
server (docs/method.md, "Spares and servers"); the rule adds spares only where the course's
packing fails it, and the course-table method, which reproduces the course, keeps its packing
and says so."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlsizer import InfeasibleError, make_inputs, size
from xlsizer.catalog.loader import load_catalog
from xlsizer.engine import placement
from xlsizer.engine.cost import SERVER_PRICE, server_class

GPUS = ["h100-sxm", "mi300x", "l40s", "a10g", "gb200"]
RULE_WARNING = "a server failure takes out more than the redundancy covers"


def _brute_force_cheapest(active, offset, paired, n, g, min_servers, billed):
    """The least bill over every (replicas, servers) that survives one server failure."""
    cap = g.gpus_per_node // n
    plain = placement.replica_count(active, offset, paired)
    best = None
    for total in range(plain, plain + cap + 1):
        for servers in range(max(min_servers, math.ceil(total / cap)), total + 1):
            per = math.ceil(total / servers)
            if total - per < active:
                continue
            lay = placement.consolidate(total, n, g, min_servers, max_per_server=per)
            if lay.servers != servers:
                continue
            b = billed(total, lay)
            best = b if best is None else min(best, b)
    return best


BASES = {
    "cloud": lambda n: (lambda r, lay: r * n),  # GPUs in use
    "on-prem": lambda n: (lambda r, lay: placement.installed_slots(r * n, lay)),  # GPU slots bought
}


@pytest.mark.parametrize("gpu_id", GPUS)
@pytest.mark.parametrize("basis", BASES)
@pytest.mark.parametrize(("offset", "min_servers", "paired"), [(1, 2, False), (2, 3, True), (3, 2, False)])
def test_fleet_survives_one_server_at_the_least_bill(gpu_id, basis, offset, min_servers, paired):
    g = load_catalog().gpu(gpu_id)
    for n in (1, 2, 4, 8, 2 * g.gpus_per_node):
        billed = BASES[basis](n)
        prev = None
        for active in range(1, 70):
            f = placement.survivable_fleet(active, offset, paired, n, g, min_servers, per_gpu_bill=basis == "cloud")
            lay = f.layout
            plain = placement.replica_count(active, offset, paired)
            assert f.replicas - lay.replicas_per_server >= active  # one server lost, the load still served
            assert lay.servers * lay.replicas_per_server >= f.replicas  # every replica has a server
            assert f.added_spares == f.replicas - plain >= 0
            plain_lay = placement.consolidate(plain, n, g, min_servers)
            if plain - plain_lay.replicas_per_server >= active:  # the course's packing already survives:
                assert f.replicas == plain  # no spare added, nothing dearer, no more GPU slots
                assert billed(f.replicas, lay) <= billed(plain, plain_lay)
                assert placement.installed_slots(plain * n, lay) <= placement.installed_slots(plain * n, plain_lay)
            if n <= g.gpus_per_node:  # no cheaper survivable fleet exists
                assert billed(f.replicas, lay) == _brute_force_cheapest(active, offset, paired, n, g, min_servers,
                                                                        billed)
            cur = billed(f.replicas, lay)
            assert prev is None or cur >= prev, (n, active, prev, cur)  # more load never costs less
            prev = cur


@pytest.mark.parametrize("gpu_id", ["l40s", "a10g", "h100-pcie", "h100-sxm"])
@pytest.mark.parametrize("gpu_price", [3000.0, 8000.0, 30000.0])
def test_on_prem_fleet_prices_each_server_by_its_size(gpu_id, gpu_price):
    """On-prem buys the cards installed and each server at its size class's price (cost.py: a
    1-GPU host, a 2-4 GPU host, an 8-GPU one). A PCIe server holds only the cards needed, so the
    fewest slots (one replica per server) could cost far more than a few per server: the fleet
    is the cheapest of every survivable one at those prices."""
    g = load_catalog().gpu(gpu_id)

    def server(k: int) -> float:  # a server's price, in GPUs
        return SERVER_PRICE[server_class(k)] / gpu_price

    for n in (1, 2, 4):
        def billed(r, lay, n=n):
            return placement.installed_slots(r * n, lay) + lay.servers * server(lay.gpus_per_server)

        for offset, min_servers, paired in ((1, 2, False), (2, 3, True)):
            for active in range(1, 70):
                f = placement.survivable_fleet(active, offset, paired, n, g, min_servers, server_cost=server)
                assert f.replicas - f.layout.replicas_per_server >= active
                assert billed(f.replicas, f.layout) == pytest.approx(
                    _brute_force_cheapest(active, offset, paired, n, g, min_servers, billed)), (n, active)


def test_on_prem_pcie_plan_buys_the_cheapest_servers():
    """28 active one-L40S replicas on-prem: one per 1-GPU host (the fewest cards, what the fleet
    picked before) cost 29 x (8,000 + 15,000) = 667,000; four per 2-4 GPU host (32 replicas,
    8 hosts) cost 32 x 8,000 + 8 x 30,000 = 496,000."""
    r = size(model="llama-3.1-8b", gpu="l40s", precision="int4", concurrent_users=600, pricing_model="on-prem",
             gpu_purchase_price=8000)
    b = r.scenarios["burst"]
    assert (b.active_replicas, b.replicas, b.servers, b.replicas_per_server) == (28, 32, 8, 4)
    assert b.extra["cost"]["capex"] == 32 * 8000 + 8 * SERVER_PRICE["medium"] == 496_000


def test_no_spares_keeps_the_course_packing():
    g = load_catalog().gpu("h100-sxm")
    f = placement.survivable_fleet(11, 0, False, 1, g, 1)
    assert (f.replicas, f.layout.servers, f.added_spares) == (11, 2, 0)


@pytest.mark.parametrize("pricing_model", ["cloud", "on-prem"])
def test_readme_example_meets_the_rule_and_says_why(pricing_model):
    r = size(model="llama-3.3-70b", concurrent_users=200, target_tpot_ms=40, pricing_model=pricing_model)
    assert not [w for w in r.warnings if RULE_WARNING in w]
    b = r.scenarios["burst"]
    assert b.replicas - b.replicas_per_server >= b.active_replicas
    row = next(s for s in r.explain() if s.scenario == "burst" and s.name == "Replicas")
    extra = b.replicas - b.active_replicas - 1
    said = f"+ {extra} more so that losing the server with the most replicas ({b.replicas_per_server})"
    assert (said in row.formula) == (extra > 0)  # the spares beyond N+1 are named with their reason
    servers = next(s for s in r.explain() if s.scenario == "burst" and s.name == "Servers")
    if pricing_model == "cloud":  # a per-GPU bill spreads one replica per host rather than adding spares
        assert b.replicas == b.active_replicas + 1 and b.replicas_per_server == 1
        assert ("spread so that a server failure" in servers.formula) == (b.servers > 2)


def test_servers_row_names_the_mix_of_spares_and_spread():
    """On-prem, 14 one-GPU replicas (9 active) on 3 servers of at most 5: the fleet both added
    spares (4 beyond N+1) and spread the replicas over a server more than dense packing needs.
    The Servers row said the spread was "cheaper than adding spares", beside a Replicas row
    that added them."""
    r = size(model="qwen3-32b", concurrent_users=800, lora_variants=4, pricing_model="on-prem",
             speculative_decoding=True, gpu="b200")
    b = r.scenarios["burst"]
    rows = {s.name: s.formula for s in r.explain() if s.scenario == "burst"}
    assert (b.active_replicas, b.replicas, b.servers, b.replicas_per_server) == (9, 14, 3, 5)
    assert "+ 4 more so that losing the server with the most replicas (5)" in rows["Replicas"]
    assert "the cheapest mix of servers and spares" in rows["Servers"]
    assert "cheaper than adding spares" not in rows["Servers"]


def test_servers_row_of_a_replica_spanning_servers():
    """A 16-GPU replica (llama-3.1-405b at BF16 on H100s: TP=8, PP=2) spans two 8-GPU servers:
    the Servers row said "1 replica(s) per 8-GPU server"."""
    r = size(model="llama-3.1-405b", gpu="h100-sxm", precision="bf16", concurrent_users=100)
    b = r.scenarios["burst"]
    row = next(s for s in r.explain() if s.scenario == "burst" and s.name == "Servers")
    assert b.gpus_per_replica == 16 and b.servers == 2 * b.replicas
    assert row.formula.startswith("2 servers per replica (8-GPU servers)"), row.formula


def test_servers_row_counts_one_replica_in_the_singular():
    # llama-3.1-8b at the defaults: one replica per host, spread for N+1
    r = size(model="llama-3.1-8b")
    row = next(s for s in r.explain() if s.scenario == "burst" and s.name == "Servers")
    assert row.formula.startswith("1 replica per 8-GPU server, at least 2 for N+1"), row.formula
    packed = size(model="llama-3.1-8b", gpu="h100-sxm", concurrent_users=3000, pricing_model="on-prem")
    row = next(s for s in packed.explain() if s.scenario == "burst" and s.name == "Servers")
    assert packed.burst.replicas_per_server > 1 and row.formula.startswith(
        f"{packed.burst.replicas_per_server} replicas per 8-GPU server"), row.formula


def test_course_table_keeps_the_course_packing_and_warns():
    r = size(throughput_source="course-table", kv_cache_dtype="fp16")
    b = r.scenarios["burst"]
    assert b.replicas == b.active_replicas + 1
    if b.replicas_per_server > 1 and b.servers > 1:
        assert any(RULE_WARNING in w and "course-table" in w for w in r.warnings)


inputs = st.fixed_dictionaries({
    "model": st.sampled_from(["llama-3.1-8b", "llama-3.3-70b", "mixtral-8x7b", "qwen3-32b", "deepseek-r1"]),
    "precision": st.sampled_from(["fp8", "bf16"]),
    "concurrent_users": st.integers(1, 20_000),
    "requests_per_user_per_minute": st.floats(0.1, 10),
    "avg_prompt_tokens": st.integers(16, 8_000),
    "avg_output_tokens": st.integers(16, 2_000),
    "target_tpot_ms": st.sampled_from([30, 50, 80, 100]),
    "burst_factor": st.floats(1, 4),
    "redundancy_mode": st.sampled_from(["N", "N+1", "N+2"]),
    "pricing_model": st.sampled_from(["cloud", "on-prem"]),
    "gpu": st.sampled_from(["auto", "h100-sxm", "mi300x", "l40s", "b200"]),
})


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_recommended_plans_survive_a_server_failure(d):
    try:
        r = size(make_inputs(d))
    except InfeasibleError:
        return
    for name in ("burst", "resilient"):
        s = r.scenarios[name]
        assert not [w for w in s.warnings if RULE_WARNING in w], (name, s.warnings)
        # a server failure takes out the most replicas any one server holds (one, when a replica spans servers)
        assert s.replicas - s.replicas_per_server >= s.active_replicas, name
        assert s.total_gpus == s.replicas * s.gpus_per_replica
        assert s.servers >= math.ceil(s.replicas / max(1, s.replicas_per_server))


def test_spread_cloud_plan_counts_the_rented_gpus_share_not_the_hosts():
    """A cloud plan spread one replica per host rents GPUs on hosts shared with other tenants:
    its IT power is each GPU's TDP plus its share of a full host's platform (20 H100 in 10
    replicas of 2 draw 20/8 of one 8-GPU host, 25.2 kW, not 10 hosts' 100.8 kW); on-prem buys
    the servers whole."""
    from xlsizer.engine import facility

    cloud = size(model="llama-3.3-70b", concurrent_users=200, target_tpot_ms=40, gpu="h100-sxm")
    b = cloud.scenarios["burst"]
    assert b.shared_hosts and b.replicas_per_server == 1 and b.servers == b.replicas > 2
    host_kw = facility.server_power_w(b.gpus_per_server, load_catalog().gpus["h100-sxm"].tdp_w) / 1000
    assert b.it_kw == pytest.approx(b.total_gpus * host_kw / b.gpus_per_server, rel=1e-9)
    assert b.it_kw <= 0.3 * b.servers * host_kw  # far below the hosts counted whole (a replica: 2 of 8 GPUs)
    assert b.racks == 1 and b.kw_per_rack <= math.ceil(b.total_gpus / b.gpus_per_server) * host_kw + 1e-9
    row = next(s for s in cloud.explain() if s.scenario == "burst" and s.name == "IT power")
    assert "shared with other tenants" in row.formula
    # the headline names GPUs and shared hosts, never "12 servers of 8x" for 12 rented GPUs
    h = cloud.headline
    assert f"{b.total_gpus} GPUs across {b.replicas} replicas" in h
    assert f"one per host (anti-affinity), on {b.servers} shared {b.gpus_per_server}x {b.gpu_name} hosts" in h
    assert f"the GPUs' share: {b.it_kw:.1f} kW IT" in h and "servers of" not in h

    onprem = size(model="llama-3.3-70b", concurrent_users=200, target_tpot_ms=40, gpu="h100-sxm",
                  pricing_model="on-prem")
    o = onprem.scenarios["burst"]
    assert not o.shared_hosts
    assert o.it_kw == pytest.approx(o.servers * host_kw, rel=1e-9)
    assert onprem.headline.startswith(f"Plan on {o.servers} servers of {o.gpus_per_server}x {o.gpu_name} - ")


def test_scenario_table_names_shared_hosts_and_installs_nothing_on_them():
    """The CLI/report/Markdown table: a cloud plan on shared hosts shows 'Servers (shared hosts)'
    and no 'GPUs installed (whole servers)' (the hosts' other slots are other tenants' GPUs)."""
    from xlsizer.summary import summary_rows

    kw = dict(model="llama-3.3-70b", concurrent_users=200, target_tpot_ms=40, gpu="h100-sxm")
    cloud = [row.label for row in summary_rows(size(**kw))]
    assert "Servers (shared hosts)" in cloud and "GPUs installed (whole servers)" not in cloud
    onprem = [row.label for row in summary_rows(size(**kw, pricing_model="on-prem"))]
    assert "Servers" in onprem and "GPUs installed (whole servers)" in onprem
