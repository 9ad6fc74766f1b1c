#!/usr/bin/env bash
# Live demo: start a Kafka dev broker, replay Yeast, attach a tree learner, watch live metrics.
# Options are those of run.py (--model, --rate, --labels-delay, --short, --bootstrap).
set -euo pipefail
exec python3 "$(dirname "$0")/run.py" "$@"
