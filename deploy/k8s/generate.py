#!/usr/bin/env python3
"""Writes base/services.yaml: for every service and the gateway, a Deployment, a
Service, a HorizontalPodAutoscaler, a PodDisruptionBudget and a NetworkPolicy, from the
table below. One table instead of fourteen hand-kept copies; `scripts/check-deploy`
fails when the file is out of date.

Each service reaches only what it calls (CALLS), identity (every service verifies
tokens with its keys), and PostgreSQL, RabbitMQ and Redis; only the gateway is
reachable from outside the namespace.
"""

import sys
from pathlib import Path

# name: (min replicas, max replicas, cpu request, memory request, memory limit)
SERVICES = {
    "identity": (2, 6, "100m", "128Mi", "512Mi"),
    "vendors": (2, 4, "50m", "64Mi", "256Mi"),
    "catalog": (2, 8, "200m", "256Mi", "1Gi"),
    "search": (2, 6, "200m", "512Mi", "2Gi"),
    "inventory": (2, 6, "100m", "64Mi", "256Mi"),
    "cart": (2, 6, "100m", "64Mi", "256Mi"),
    "shipping": (2, 4, "50m", "64Mi", "256Mi"),
    "tax": (2, 4, "50m", "64Mi", "256Mi"),
    "promotions": (2, 4, "50m", "64Mi", "256Mi"),
    "payments": (2, 6, "100m", "64Mi", "256Mi"),
    "orders": (2, 8, "200m", "128Mi", "512Mi"),
    "notifications": (1, 3, "50m", "64Mi", "256Mi"),
    "reviews": (2, 4, "50m", "64Mi", "256Mi"),
    "web": (2, 8, "200m", "128Mi", "512Mi"),
}

# Who calls whom over HTTP (the typed clients each crate uses).
CALLS = {
    "search": ["catalog", "inventory", "reviews", "vendors"],
    "inventory": ["catalog"],
    "cart": ["catalog", "inventory"],
    "orders": ["cart", "catalog", "inventory", "payments", "promotions", "shipping", "tax", "vendors"],
    "notifications": ["vendors"],
    "reviews": ["orders"],
    "web": ["cart", "catalog", "identity", "inventory", "notifications", "orders", "payments",
            "promotions", "reviews", "search", "shipping", "tax", "vendors"],
}

GATEWAY = (2, 6, "200m", "64Mi", "256Mi")

# Services with a database of their own (web has none).
DATABASES = [name for name in SERVICES if name != "web"]

# Services whose every replica keeps state of its own (search: an index, a database
# named by `{replica}` in its URL, an event queue): a StatefulSet, so each pod has a
# stable name to be the replica's.
PER_REPLICA = ["search"]


def migrate_job() -> str:
    env = "".join(
        f"""            - name: {name.upper()}_DATABASE_URL_FILE
              value: /run/secrets/emporium/{name}-database-url
"""
        for name in DATABASES
    )
    return f"""# Every service's schema migrated, each in its own database, before the new version
# serves (run it on each release, e.g. as an Argo CD PreSync hook); services also
# migrate their own schema on start, so a missed run only slows the first start.
apiVersion: batch/v1
kind: Job
metadata:
  name: emporium-migrate
  labels: {{ app.kubernetes.io/name: migrate, app.kubernetes.io/part-of: emporium }}
spec:
  backoffLimit: 3
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels: {{ app.kubernetes.io/name: migrate, app.kubernetes.io/part-of: emporium }}
    spec:
      restartPolicy: OnFailure
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {{ type: RuntimeDefault }}
      containers:
        - name: migrate
          image: emporium
          args: ["migrate"]
          envFrom:
            - configMapRef: {{ name: emporium-config }}
          env:
{env}          volumeMounts:
            - {{ name: secrets, mountPath: /run/secrets/emporium, readOnly: true }}
          resources:
            requests: {{ cpu: 100m, memory: 64Mi }}
            limits: {{ memory: 256Mi }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{ drop: [ALL] }}
      volumes:
        - name: secrets
          secret: {{ secretName: emporium-secrets }}
"""


def deployment(name: str, args: str, spec: tuple, service_env: bool) -> str:
    _, _, cpu, memory, memory_limit = spec
    kind, stateful = "Deployment", ""
    env = ""
    if service_env:
        env = f"""
            - name: DATABASE_URL_FILE
              value: /run/secrets/emporium/{name}-database-url"""
    if name in PER_REPLICA:
        kind = "StatefulSet"
        stateful = f"""
  serviceName: {name}
  podManagementPolicy: Parallel"""
        env += f"""
            - name: {name.upper()}_REPLICA
              valueFrom: {{ fieldRef: {{ fieldPath: metadata.name }} }}"""
    return f"""apiVersion: apps/v1
kind: {kind}
metadata:
  name: {name}
  labels: {{ app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: emporium }}
spec:{stateful}
  selector:
    matchLabels: {{ app.kubernetes.io/name: {name} }}
  template:
    metadata:
      labels: {{ app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: emporium }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "8080"
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        fsGroup: 10001
        seccompProfile: {{ type: RuntimeDefault }}
      terminationGracePeriodSeconds: 30
      containers:
        - name: {name}
          image: emporium
          args: [{args}]
          ports:
            - {{ name: http, containerPort: 8080 }}
          envFrom:
            - configMapRef: {{ name: emporium-config }}
          env:
            - name: EMPORIUM_BIND
              value: 0.0.0.0:8080
            - name: INTERNAL_API_SECRET_FILE
              value: /run/secrets/emporium/internal-api-secret
            - name: AMQP_URL_FILE
              value: /run/secrets/emporium/amqp-url
            - name: REDIS_URL_FILE
              value: /run/secrets/emporium/redis-url{env}
          volumeMounts:
            - {{ name: secrets, mountPath: /run/secrets/emporium, readOnly: true }}
            - {{ name: scratch, mountPath: /tmp }}
          startupProbe:
            httpGet: {{ path: /health, port: http }}
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: {{ path: /health, port: http }}
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet: {{ path: /ready, port: http }}
            periodSeconds: 5
            failureThreshold: 2
          resources:
            requests: {{ cpu: {cpu}, memory: {memory} }}
            limits: {{ memory: {memory_limit} }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{ drop: [ALL] }}
      volumes:
        - name: secrets
          secret: {{ secretName: emporium-secrets }}
        - name: scratch
          emptyDir: {{}}
"""


def service(name: str) -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels: {{ app.kubernetes.io/name: {name}, app.kubernetes.io/part-of: emporium }}
spec:
  selector: {{ app.kubernetes.io/name: {name} }}
  ports:
    - {{ name: http, port: 8080, targetPort: http }}
"""


def autoscaler(name: str, spec: tuple) -> str:
    low, high = spec[0], spec[1]
    kind = "StatefulSet" if name in PER_REPLICA else "Deployment"
    return f"""apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
spec:
  scaleTargetRef: {{ apiVersion: apps/v1, kind: {kind}, name: {name} }}
  minReplicas: {low}
  maxReplicas: {high}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {{ type: Utilization, averageUtilization: 70 }}
"""


def disruption_budget(name: str) -> str:
    return f"""apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {{ app.kubernetes.io/name: {name} }}
"""


def network_policy(name: str, callers: list[str], reaches: list[str], public: bool) -> str:
    if public:
        ingress = "    - ports: [{ port: 8080 }]\n"
    else:
        peers = "".join(
            f"        - podSelector: {{ matchLabels: {{ app.kubernetes.io/name: {c} }} }}\n"
            for c in sorted(set(callers) | {"prometheus"})
        )
        ingress = f"    - from:\n{peers}      ports: [{{ port: 8080 }}]\n"
    egress_peers = "".join(
        f"        - podSelector: {{ matchLabels: {{ app.kubernetes.io/name: {r} }} }}\n"
        for r in sorted(set(reaches))
    )
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
spec:
  podSelector:
    matchLabels: {{ app.kubernetes.io/name: {name} }}
  policyTypes: [Ingress, Egress]
  ingress:
{ingress}  egress:
    - to:
{egress_peers}      ports: [{{ port: 8080 }}]
    - to:
        - podSelector: {{ matchLabels: {{ app.kubernetes.io/part-of: emporium-data }} }}
      ports: [{{ port: 5432 }}, {{ port: 5672 }}, {{ port: 6379 }}]
    - ports: [{{ port: 53, protocol: UDP }}, {{ port: 53, protocol: TCP }}]
"""


def render() -> str:
    docs = []
    callers_of: dict[str, list[str]] = {name: [] for name in SERVICES}
    for caller, callees in CALLS.items():
        for callee in callees:
            callers_of[callee].append(caller)
    callers_of["identity"] += [s for s in SERVICES if s != "identity"]
    for name, spec in SERVICES.items():
        reaches = CALLS.get(name, []) + ([] if name == "identity" else ["identity"])
        docs += [
            deployment(name, f'"serve", "--services", "{name}"', spec, name in DATABASES),
            service(name),
            autoscaler(name, spec),
            disruption_budget(name),
            network_policy(name, callers_of[name] + ["gateway"], reaches, public=False),
        ]
    docs.append(migrate_job())
    docs += [
        deployment("gateway", '"gateway"', GATEWAY, service_env=False),
        service("gateway"),
        autoscaler("gateway", GATEWAY),
        disruption_budget("gateway"),
        network_policy("gateway", [], list(SERVICES), public=True),
    ]
    header = "# Written by deploy/k8s/generate.py from its tables; edit those, not this.\n"
    return header + "---\n".join(docs)


def indented(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def monitoring() -> str:
    """The monitoring component: the alert rules as a PrometheusRule, the dashboards as
    a ConfigMap Grafana's sidecar loads, a PodMonitor labelling each target with its
    service, and a NetworkPolicy letting the `monitoring` namespace scrape."""
    deploy = Path(__file__).parent.parent
    rules = (deploy / "prometheus" / "alerts.yml").read_text()
    rules = "".join(l for l in rules.splitlines(True) if not l.startswith("#"))
    dashboards = sorted((deploy / "grafana" / "dashboards").glob("*.json"))
    data = "".join(
        f"  {d.name}: |\n{indented(d.read_text(), 4)}" for d in dashboards
    )
    header = "# Written by deploy/k8s/generate.py from deploy/prometheus/alerts.yml and\n" \
             "# deploy/grafana/dashboards; edit those, not this.\n"
    return header + f"""apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: emporium
  labels: {{ app.kubernetes.io/part-of: emporium }}
spec:
{indented(rules, 2)}---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: emporium
  labels: {{ app.kubernetes.io/part-of: emporium }}
spec:
  selector:
    matchLabels: {{ app.kubernetes.io/part-of: emporium }}
  podMetricsEndpoints:
    - port: http
      path: /metrics
      relabelings:
        # `service`: what every dashboard and alert groups by.
        - sourceLabels: [__meta_kubernetes_pod_label_app_kubernetes_io_name]
          targetLabel: service
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: emporium-scraped-by-monitoring
  labels: {{ app.kubernetes.io/part-of: emporium }}
spec:
  podSelector:
    matchLabels: {{ app.kubernetes.io/part-of: emporium }}
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels: {{ kubernetes.io/metadata.name: monitoring }}
      ports:
        - {{ port: http, protocol: TCP }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: emporium-dashboards
  labels: {{ app.kubernetes.io/part-of: emporium, grafana_dashboard: "1" }}
data:
{data}"""


def main() -> int:
    here = Path(__file__).parent
    targets = {
        here / "base" / "services.yaml": render(),
        here / "monitoring" / "monitoring.yaml": monitoring(),
    }
    if sys.argv[1:] == ["--check"]:
        stale = [str(t) for t, text in targets.items() if not t.exists() or t.read_text() != text]
        if stale:
            print(f"out of date: {', '.join(stale)}: run deploy/k8s/generate.py", file=sys.stderr)
            return 1
        return 0
    for target, text in targets.items():
        target.parent.mkdir(exist_ok=True)
        target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
