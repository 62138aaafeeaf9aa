#!/usr/bin/env python3
"""Checkouts per second through the whole saga, against a running Emporium seeded
with `emporium seed --demo`.

Each of C workers is a customer of its own (registered here) who, in a loop, puts one
item in the cart and checks out with the test card that succeeds: price, promotion
(none), reservation, authorization, order, capture, ledger. Only the checkout request
is timed. Two scenarios:
  many  every checkout buys a random variant of the 630 demo variants
  hot   every checkout buys the same variant (its stock raised first), so every
        reservation contends for one row
Prints checkouts/s, p50 and p99 latency, and refusals by code. With CPU_OF set to
"name=pid,name=pid,…" (the processes of a topology, replicas under one name), it also
prints each name's CPU per checkout (put in the cart, then checked out) and what that
makes per core: a service's capacity on its own.

Usage: bench/checkout.py BASE VARIANTS_FILE SECONDS [WORKERS] [TOKENS_FILE]
VARIANTS_FILE holds one "var_… sto_… shp_… owner-email" line per variant; the
customers' access tokens are written to TOKENS_FILE (for the cart benchmark).
"""
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
import uuid

BASE = sys.argv[1]
VARIANTS = [line.split() for line in open(sys.argv[2]) if line.strip()]
SECONDS = float(sys.argv[3])
WORKERS = int(sys.argv[4]) if len(sys.argv) > 4 else 16
PASSWORD = "emporium-demo-password"
ADDRESS = {"name": "Bench Buyer", "line1": "1 Load Street", "city": "Berlin",
           "postal_code": "10115", "country": "DE"}
host = urllib.parse.urlparse(BASE).netloc


class Api:
    def __init__(self, token=None):
        self.conn = http.client.HTTPConnection(host, timeout=60)
        self.token = token

    def call(self, method, path, body=None, headers=None):
        h = {"content-type": "application/json"}
        if self.token:
            h["authorization"] = "Bearer " + self.token
        h.update(headers or {})
        self.conn.request(method, path, json.dumps(body) if body is not None else None, h)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)


def customer(i):
    api = Api()
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    status, _ = api.call("POST", "/api/v1/identity/register",
                         {"email": email, "password": PASSWORD, "name": f"Bench {i}"})
    assert status == 201, status
    status, tokens = api.call("POST", "/api/v1/identity/login", {"email": email, "password": PASSWORD})
    assert status == 200, (status, tokens)
    return Api(tokens["access_token"])


def cpu_seconds():
    """CPU used so far by each named process (user + system), summed per name."""
    ticks = {}
    for pair in filter(None, (os.environ.get("CPU_OF") or "").split(",")):
        name, pid = pair.split("=")
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks[name] = ticks.get(name, 0) + int(fields[11]) + int(fields[12])
    hz = os.sysconf("SC_CLK_TCK")
    return {name: t / hz for name, t in ticks.items()}


def run(name, pick, customers):
    latencies, refusals, lock = [], {}, threading.Lock()
    cpu_before = cpu_seconds()
    stop = time.monotonic() + SECONDS

    def worker(api):
        while time.monotonic() < stop:
            variant, store, method, _ = pick()
            status, body = api.call("PUT", f"/api/v1/cart/lines/{variant}", {"quantity": 1})
            if status != 200:
                code = "cart:" + str((body or {}).get("code", status))
                with lock:
                    refusals[code] = refusals.get(code, 0) + 1
                continue
            started = time.monotonic()
            status, body = api.call("POST", "/api/v1/orders/checkout",
                                    {"address": ADDRESS, "shipping": {store: method},
                                     "card_number": "4242424242424242"},
                                    {"idempotency-key": uuid.uuid4().hex})
            took = time.monotonic() - started
            with lock:
                if status == 201:
                    latencies.append(took)
                else:
                    code = (body or {}).get("code", str(status))
                    refusals[code] = refusals.get(code, 0) + 1
            if status != 201:
                # A refused checkout leaves the cart as it was; empty it for the next round.
                api.call("PUT", f"/api/v1/cart/lines/{variant}", {"quantity": 0})

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(c,)) for c in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    lat = sorted(latencies)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")
    print(f"{name}: {len(lat)} checkouts in {elapsed:.1f} s = {len(lat) / elapsed:.1f}/s, "
          f"p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, refused {refusals or 'none'}")
    cpu_after = cpu_seconds()
    if cpu_after and lat:
        print("  CPU per checkout, and checkouts/s one core of it carries:")
        for proc in sorted(cpu_after, key=lambda n: cpu_before[n] - cpu_after[n]):
            ms = (cpu_after[proc] - cpu_before[proc]) * 1000 / len(lat)
            per_core = f"{1000 / ms:.0f}/s" if ms > 0 else "-"
            print(f"    {proc:<14} {ms:6.2f} ms  {per_core}")


customers = [customer(i) for i in range(WORKERS)]
if len(sys.argv) > 5:
    with open(sys.argv[5], "w") as f:
        f.write("".join(c.token + "\n" for c in customers))
run("many variants", lambda: random.choice(VARIANTS), customers)

# The hot variant: enough stock for every checkout the run can make.
hot = VARIANTS[0]
owner = Api()
status, tokens = owner.call("POST", "/api/v1/identity/login", {"email": hot[3], "password": PASSWORD})
owner.token = tokens["access_token"]
status, locations = owner.call("GET", f"/api/v1/inventory/stores/{hot[1]}/locations")
status, _ = owner.call("POST", f"/api/v1/inventory/variants/{hot[0]}/adjustments",
                       {"location_id": locations["items"][0]["id"], "delta": 1_000_000, "reason": "Benchmark"})
assert status == 200, status
run("one hot variant", lambda: hot, customers)
