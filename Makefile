# kaiyo — the common jobs. Every target that needs the environment runs `setup` first,
# so each works alone on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
KAIYO := $(VENV)/bin/kaiyo
# Discovery stays on this host unless you configure otherwise (see docs/multi-machine.md).
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export MUJOCO_GL ?= egl
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo bench lint doctor clean freeze help models

help:
	@echo "make setup   create .venv, install pinned ROS 2 Jazzy wheels + deps, build ros2_ws"
	@echo "make demo    run the simulated isoyake survey off the tower (kaiyo demo)"
	@echo "make test    run every test (unit, node, multi-process, end-to-end)"
	@echo "make bench   print speed/memory figures, each against a baseline from the same run"
	@echo "make models  retrain the simulator-domain seabed classifier (scripts/train-sim-model.sh)"
	@echo "make lint    ruff"
	@echo "make doctor  check the installation"

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

demo: setup
	$(KAIYO) demo

bench: setup
	$(KAIYO) bench

models: setup
	nice -n 5 bash scripts/train-sim-model.sh

lint: setup
	$(PY) -m ruff check ros2_ws/src tests launch

doctor: setup
	$(KAIYO) doctor

freeze:
	$(PY) -m pip freeze --exclude-editable | grep -viE '^(kaiyo|-e )' | \
	  sed '1i # Full resolved set (pip freeze) used with -c; regenerate with: make freeze' \
	  > requirements/constraints.txt

clean:
	rm -rf $(VENV) ros2_ws/build ros2_ws/log ros2_ws/install
