# The README's two commands: `make run` and `make test`. Both install what is missing first.
PY := .venv/bin/python

.PHONY: run test deps lint bench model clean-venv
JOBS ?= $(shell nproc)
DATA ?= runs/data-pop909-mma
RUN ?= runs/cpu-default

deps:
	@bash packaging/install-deps.sh

run: deps
	$(PY) main.py $(ARGS)

test: deps
	$(PY) -m ruff check engine app tests bench main.py
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: deps
	$(PY) -m ruff check engine app tests bench main.py

# Every figure quoted in the README and the issues' closing notes (several minutes; needs ../shared/data).
bench: deps
	$(PY) -m bench.midi_throughput
	$(PY) -m bench.roundtrip_pop909
	$(PY) -m bench.pop909_analysis
	$(PY) -m bench.model_latency
	$(PY) -m bench.render_speed
	QT_QPA_PLATFORM=offscreen $(PY) -m bench.editor_speed
	$(PY) -m bench.fuzz_midi

# Rebuild the bundled default model: POP909 + MMA band layers, the CPU training config, then copy the
# EMA weights into resources/models/default (the model card there says how the shipped one was made).
model:
	WITH_MMA=1 bash packaging/install-deps.sh
	$(PY) -m engine dataset build --pop909 --out $(DATA) --workers $(JOBS) --seed 0 --mma-grooves 2
	$(PY) -m engine train --config configs/train_cpu_default.json --data $(DATA) --out $(RUN)
	mkdir -p resources/models/default
	cp $(RUN)/model/model.safetensors $(RUN)/model/config.json resources/models/default/

clean-venv:
	rm -rf .venv
