"""Exports OTLP metrics to Strata with OpenTelemetry's Python SDK, as an application would.

Usage: otlp_export.py grpc|http ENDPOINT SERVICE
Env: OTLP_CA_FILE (a CA to trust: TLS, gRPC or HTTPS), OTLP_AUTHORIZATION (an
Authorization header value to send, e.g. "Bearer t").
Records a counter, a gauge, an explicit-bucket histogram and an exponential histogram,
exports them once (cumulative temporality, the SDK's default) and prints, as JSON, what
was recorded, for the test to compare with what PromQL answers.
"""

import json
import os
import sys

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource


def exporter(kind, endpoint):
    ca = os.environ.get("OTLP_CA_FILE")
    authorization = os.environ.get("OTLP_AUTHORIZATION")
    headers = {"authorization": authorization} if authorization else None
    if kind == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        if ca is None:
            return OTLPMetricExporter(endpoint=endpoint, insecure=True, headers=headers)
        import grpc
        with open(ca, "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        return OTLPMetricExporter(endpoint=endpoint, insecure=False, credentials=credentials, headers=headers)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    if ca is None:
        return OTLPMetricExporter(endpoint=endpoint, headers=headers)
    import requests
    # requests lets REQUESTS_CA_BUNDLE in the environment override a session's own CA
    # (psf/requests#3829): a session that ignores the environment keeps ours.
    session = requests.Session()
    session.trust_env = False
    return OTLPMetricExporter(endpoint=endpoint, certificate_file=ca, headers=headers, session=session)


def main():
    kind, endpoint, service = sys.argv[1:4]
    reader = PeriodicExportingMetricReader(exporter(kind, endpoint), export_interval_millis=3_600_000)
    resource = Resource.create({"service.name": service, "service.instance.id": "i-1", "deployment.environment": "test"})
    views = [View(instrument_name="payload.size", aggregation=ExponentialBucketHistogramAggregation())]
    provider = MeterProvider(resource=resource, metric_readers=[reader], views=views)
    meter = provider.get_meter("strata.interop", "1.0")

    orders = meter.create_counter("shop.orders", unit="{order}", description="orders placed")
    for method, n in [("card", 3), ("cash", 4), ("card", 2)]:
        orders.add(n, {"payment.method": method})

    depth = meter.create_gauge("queue.depth", unit="{item}")
    depth.set(17, {"queue": "emails"})

    bounds = [0.1, 0.5, 1.0]
    latency = meter.create_histogram("request.duration", unit="s", explicit_bucket_boundaries_advisory=bounds)
    observed = [0.05, 0.2, 0.3, 0.7, 2.5]
    for v in observed:
        latency.record(v, {"route": "/buy"})

    size = meter.create_histogram("payload.size", unit="By")
    for v in [100, 2000, 30000]:
        size.record(v)

    ok = provider.force_flush(30_000)
    provider.shutdown()
    buckets = [sum(1 for v in observed if v <= b) for b in bounds]
    print(json.dumps({
        "flushed": ok,
        "orders": {"card": 5, "cash": 4},
        "queue_depth": 17,
        "latency": {"count": len(observed), "sum": sum(observed), "buckets": dict(zip(map(str, bounds), buckets))},
    }))


if __name__ == "__main__":
    main()
