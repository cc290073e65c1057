"""Parses Prometheus text exposition from stdin with prometheus_client's parser and
prints one sample per line: name TAB labels (k=v joined by \x01) TAB value.
Exit 3 when prometheus_client is not installed; non-zero on a parse error."""
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit(3)

for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = "\x01".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{s.name}\t{labels}\t{s.value}")
