#!/usr/bin/env python3
"""Search freshness: how long after a publish commits is the product searchable?

Against a running Emporium with the demo seed (`emporium seed --demo`): signs in as a
demo store owner, then N times creates a product with a unique word in its title,
publishes it, and polls search for that word every millisecond. Reports the delay from
the publish response (the commit) to the first search that finds it: p50, p90, max.

Usage: bench/freshness.py [base URL, default http://127.0.0.1:18081] [N, default 30]
"""
import json
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18081"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 30
OWNER = "owner@linen-loom.demo.emporium.localhost"
PASSWORD = "emporium-demo-password"


def call(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + path, method=method)
    if body is not None:
        req.add_header("content-type", "application/json")
        req.data = json.dumps(body).encode()
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


token = call("POST", "/api/v1/identity/login", {"email": OWNER, "password": PASSWORD})["access_token"]
store = call("GET", "/api/v1/vendors/me/stores", token=token)["items"][0]["id"]
delays = []
for i in range(N):
    word = "fresh" + uuid.uuid4().hex[:10]
    product = call("POST", f"/api/v1/catalog/stores/{store}/products", {
        "slug": word, "title": f"Freshness probe {word}",
        "variants": [{"sku": word.upper(), "price_minor": 1000, "currency": "EUR"}],
    }, token)
    call("POST", f"/api/v1/catalog/products/{product['id']}/publish", token=token)
    committed = time.perf_counter()
    while True:
        found = call("GET", f"/api/v1/search/products?q={word}&per_page=1")
        if found["total"] == 1:
            delays.append((time.perf_counter() - committed) * 1000)
            break
        if time.perf_counter() - committed > 10:
            sys.exit(f"{word} not searchable after 10 s")
        time.sleep(0.001)
delays.sort()
p = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
print(f"search freshness over {N} publishes: p50 {statistics.median(delays):.1f} ms, "
      f"p90 {p(0.9):.1f} ms, max {delays[-1]:.1f} ms")
