#!/usr/bin/env python3
"""Writes the Grafana dashboards (dashboards/*.json) from the panel tables below: one
table per dashboard instead of hand-kept JSON. `scripts/check-deploy` fails when a file
is out of date, and the observability test fails when a query names a metric no
process exports.

Queries group by `service` (the process's service: a target label in every Prometheus
configuration of ours), `route`, `upstream`, `schema`, `consumer`, `domain`, `cache`,
`step`, `outcome`, `reason`, `status` and `currency`: bounded sets, never ids.
"""

import json
import sys
from pathlib import Path

RATE = "[$__rate_interval]"
SERVER_ERRORS = '{status=~"5.."}'


def rate(metric, by, selector=""):
    return f"sum by ({by}) (rate({metric}{selector}{RATE}))"


def quantile(q, metric, by, selector=""):
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{selector}{RATE})))"


# dashboard file: (title, [(panel title, unit, [(query, legend)])])
DASHBOARDS = {
    "overview": (
        "Emporium: platform overview",
        [
            ("Requests per second", "reqps", [(rate("http_requests_total", "service"), "{{service}}")]),
            (
                "Server errors (share of requests)",
                "percentunit",
                [(
                    rate("http_requests_total", "service", SERVER_ERRORS) + " / " + rate("http_requests_total", "service"),
                    "{{service}}",
                )],
            ),
            ("Latency p99 by service", "s", [(quantile(0.99, "http_request_duration_seconds", "service"), "{{service}}")]),
            (
                "Slowest routes (p99)",
                "s",
                [(f'topk(10, {quantile(0.99, "http_request_duration_seconds", "route")})', "{{route}}")],
            ),
            ("Processes up", "short", [("sum by (service) (up)", "{{service}}")]),
            (
                "Database pool saturation",
                "percentunit",
                [(
                    'max by (service, domain) (db_pool_connections{state="in_use"} / ignoring(state) db_pool_max_connections)',
                    "{{service}} {{domain}}",
                )],
            ),
            ("Gateway: requests per upstream", "reqps", [(rate("gateway_upstream_requests_total", "upstream, status"), "{{upstream}} {{status}}")]),
            ("Gateway: upstream latency p99", "s", [(quantile(0.99, "gateway_upstream_duration_seconds", "upstream"), "{{upstream}}")]),
            (
                "Gateway: breakers (0 closed, 1 half-open, 2 open)",
                "short",
                [("max by (upstream) (gateway_breaker_state)", "{{upstream}}")],
            ),
            ("Gateway: replicas in rotation", "short", [("min by (upstream) (gateway_replicas_in_rotation)", "{{upstream}}")]),
            (
                "Gateway: refused",
                "reqps",
                [
                    (rate("gateway_rate_limited_total", "rule"), "rate limited: {{rule}}"),
                    (rate("gateway_upstream_refusals_total", "upstream"), "breaker open: {{upstream}}"),
                ],
            ),
        ],
    ),
    "checkout": (
        "Emporium: checkout funnel and payments",
        [
            ("Checkouts by outcome", "ops", [(rate("checkout_outcomes_total", "outcome"), "{{outcome}}")]),
            (
                "Failed checkouts by reason",
                "ops",
                [(rate("checkout_outcomes_total", "reason", '{outcome="failed"}'), "{{reason}}")],
            ),
            ("Checkout steps p95", "s", [(quantile(0.95, "checkout_step_duration_seconds", "step"), "{{step}}")]),
            ("Payment outcomes", "ops", [(rate("payment_outcomes_total", "status, reason"), "{{status}} {{reason}}")]),
            ("Orders paid per minute", "short", [(f'{rate("orders_paid_total", "currency")} * 60', "{{currency}}")]),
            ("Items sold per minute", "short", [(f'{rate("order_items_total", "currency")} * 60', "{{currency}}")]),
            (
                "GMV in the last hour (minor units)",
                "short",
                [("sum by (currency) (increase(gmv_minor_total[1h]))", "{{currency}}")],
            ),
            (
                "Refunded in the last hour (minor units)",
                "short",
                [
                    ("sum by (currency) (increase(refunded_minor_total[1h]))", "{{currency}}"),
                    ("sum by (currency) (increase(refunds_total[1h]))", "refunds {{currency}}"),
                ],
            ),
            ("Checkout recovery rounds", "ops", [("sum(rate(checkout_recovery_rounds_total" + RATE + "))", "rounds")]),
        ],
    ),
    "events": (
        "Emporium: events",
        [
            ("Published per second", "ops", [(rate("events_published_total", "schema"), "{{schema}}")]),
            ("Outbox backlog", "short", [("max by (schema) (events_outbox_backlog)", "{{schema}}")]),
            ("Oldest unpublished event", "s", [("max by (schema) (events_outbox_oldest_age_seconds)", "{{schema}}")]),
            ("Consumer lag", "short", [("max by (consumer) (events_consumer_lag_messages)", "{{consumer}}")]),
            ("Handled per second", "ops", [(rate("events_handled_total", "consumer"), "{{consumer}}")]),
            (
                "Retries and duplicates",
                "ops",
                [
                    (rate("events_retries_total", "consumer"), "retries {{consumer}}"),
                    (rate("events_duplicates_total", "consumer"), "duplicates {{consumer}}"),
                ],
            ),
            (
                "Dead letters",
                "short",
                [
                    ("max by (consumer) (events_dead_letters)", "waiting {{consumer}}"),
                    ("sum by (consumer) (increase(events_dead_lettered_total[1h]))", "last hour {{consumer}}"),
                ],
            ),
        ],
    ),
    "data": (
        "Emporium: databases and caches",
        [
            ("Pool connections", "short", [("sum by (domain, state) (db_pool_connections)", "{{domain}} {{state}}")]),
            ("Pool size limit", "short", [("max by (domain) (db_pool_max_connections)", "{{domain}}")]),
            ("Time to get a connection", "s", [("max by (domain) (db_pool_acquire_seconds)", "{{domain}}")]),
            (
                "Cache hit ratio",
                "percentunit",
                [(
                    rate("cache_requests_total", "cache", '{result="hit"}') + " / " + rate("cache_requests_total", "cache"),
                    "{{cache}}",
                )],
            ),
            ("Cache lookups", "ops", [(rate("cache_requests_total", "cache, result"), "{{cache}} {{result}}")]),
        ],
    ),
}


def panel(index, title, unit, queries):
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        # Two panels a row on a desk, one a row on a phone (Grafana stacks them).
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(queries)
        ],
    }


def dashboard(name, title, panels):
    return {
        "uid": f"emporium-{name}",
        "title": title,
        "tags": ["emporium"],
        "timezone": "browser",
        "refresh": "30s",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "panels": [panel(i, *p) for i, p in enumerate(panels)],
    }


def render():
    return {
        f"{name}.json": json.dumps(dashboard(name, title, panels), indent=2) + "\n"
        for name, (title, panels) in DASHBOARDS.items()
    }


def main():
    out = Path(__file__).parent / "dashboards"
    check = "--check" in sys.argv[1:]
    stale = []
    for file, text in render().items():
        path = out / file
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            out.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        sys.exit(f"out of date (run deploy/grafana/generate.py): {', '.join(stale)}")


if __name__ == "__main__":
    main()
