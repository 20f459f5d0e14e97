#!/usr/bin/env bash
# Rebuild the simulator-domain seabed classifier (kaiyo_seabed/config/seabed_sim_rtrees.yml.gz)
# from synthetic labelled frames, then score it on held-out scenes. One command:
#   scripts/train-sim-model.sh            (or: make models)
# Seeds: training 100-139, validation 200-209 (used to choose the urchin thresholds), test
# 210-219 (used for nothing but these figures); kaiyo_sim.dataset.TRAIN_SEEDS /
# VALIDATION_SEEDS / TEST_SEEDS. All disjoint from the demo's scene 42, the `--seed 7`
# example and the tests' seeds (230, 300). Provenance and figures: ros2_ws/src/kaiyo_seabed/config/MODEL-PROVENANCE.md.
# Environment: FRAMES (per training seed, default 16), VAL_FRAMES (default 10), OUT (model
# path), KEEP=1 keeps the rendered data in the printed temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
KAIYO=${KAIYO:-.venv/bin/kaiyo}
FRAMES=${FRAMES:-16}
VAL_FRAMES=${VAL_FRAMES:-10}
OUT=${OUT:-ros2_ws/src/kaiyo_seabed/config/seabed_sim_rtrees.yml.gz}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kaiyo-sim-dataset.XXXXXX")
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$TMP"' EXIT; fi
echo "rendering into $TMP"
$KAIYO sim dataset --world hiratsuka_tower --vehicle hover_auv --seeds 100-139 \
  --frames-per-seed "$FRAMES" --camera-scale 0.5 --out "$TMP/train"
$KAIYO sim dataset --world hiratsuka_tower --vehicle hover_auv --seeds 200-209 \
  --frames-per-seed "$VAL_FRAMES" --camera-scale 0.5 --out "$TMP/val"
$KAIYO seabed train --masks "$TMP/train/masks" --features hand --out "$OUT" \
  --note "kaiyo_sim hiratsuka_tower hover_auv frames (camera_scale 0.5), scene seeds 100-139 x $FRAMES; simulator imagery only (scripts/train-sim-model.sh)"
$KAIYO sim dataset --world hiratsuka_tower --vehicle hover_auv --seeds 210-219 \
  --frames-per-seed "$VAL_FRAMES" --camera-scale 0.5 --out "$TMP/test"
PY=${PY:-.venv/bin/python}
echo "held-out scenes (validation 200-209, test 210-219):"
$PY scripts/score-sim-model.py "$TMP/val" --model "$OUT"
$PY scripts/score-sim-model.py "$TMP/test" --model "$OUT"
