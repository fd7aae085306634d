# The README's two commands: `make run` and `make test`. Both install what is missing first.
PY := .venv/bin/python

.PHONY: run test deps lint bench model compare-kinds clean-venv
JOBS ?= $(shell nproc)
DATA ?= runs/data-pop909-mma
# Real band MIDI from Debian (OpenTTD's OpenMSX, Planet Blupi): a validation-only set, never trained on.
REAL ?= runs/data-real-band
REAL_FOLDERS = --valid-folder /usr/share/games/openttd/baseset/openmsx --valid-folder /usr/share/planetblupi/music
RUN ?= runs/cpu-default
EVAL_ARGS ?= --songs 20 --tasks all --variations 1 --steps 10 --guidance 1.5 --seed 0

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
	$(PY) -m bench.roundtrip_corpus --tiny
	$(PY) -m bench.pop909_analysis
	$(PY) -m bench.model_latency
	$(PY) -m bench.render_speed
	QT_QPA_PLATFORM=offscreen $(PY) -m bench.editor_speed
	$(PY) -m bench.fuzz_midi

# Rebuild the bundled default model: POP909 + MMA band layers, the CPU training config (2,400 steps), then
# five continuations, each from the previous stage's EMA weights (configs/train_cpu_continue.json: 1,200
# steps, seed 1; then 2,000 steps, seed 2; then 1,200 steps, seed 4, half the examples with thinned far
# context; then configs/train_cpu_copy.json, which turns the copy context on: 1,200 steps, seed 5; then
# 1,200 steps, seed 6, half the whole-part selections cut to a span; then configs/train_cpu_v4_gentle.json:
# 600 steps at lr 1e-4 on the same data with the real band songs of ../shared/data/midi-corpus/band-freedoom,
# whose MMA layers now follow the song's bars and use only grooves with a kick on 1 and a backbeat; then
# configs/train_cpu_density.json: 900 steps with the part density condition on), and copy the final EMA
# weights and the training split's notes per beat per tempo class (tempo_density.json) into resources/models/default (the model card there says how the shipped one was
# made: its stages 1-6 were trained on an earlier build of the MMA layers, so this is a close copy).
model:
	WITH_MMA=1 bash packaging/install-deps.sh
	$(PY) -m engine dataset build --pop909 --midi-folder ../shared/data/midi-corpus/band-freedoom --out $(DATA) --workers $(JOBS) --seed 0 --mma-grooves 2
	$(PY) -m engine train --config configs/train_cpu_default.json --data $(DATA) --out $(RUN)
	$(PY) -m engine train --config configs/train_cpu_continue.json --set init_from=$(RUN)/model --data $(DATA) --out $(RUN)-stage2
	$(PY) -m engine train --config configs/train_cpu_continue.json --set init_from=$(RUN)-stage2/model --set steps=2000 --set seed=2 --data $(DATA) --out $(RUN)-stage3
	$(PY) -m engine train --config configs/train_cpu_continue.json --set init_from=$(RUN)-stage3/model --set steps=1200 --set seed=4 --set thin_context=0.5 --data $(DATA) --out $(RUN)-stage4
	$(PY) -m engine train --config configs/train_cpu_copy.json --set init_from=$(RUN)-stage4/model --set seed=5 --set thin_context=0.5 --data $(DATA) --out $(RUN)-stage5
	$(PY) -m engine train --config configs/train_cpu_copy.json --set init_from=$(RUN)-stage5/model --set seed=6 --set thin_context=0.5 --set part_spans=0.5 --data $(DATA) --out $(RUN)-stage6
	$(PY) -m engine train --config configs/train_cpu_v4_gentle.json --set init_from=$(RUN)-stage6/model --data $(DATA) --out $(RUN)-stage7
	$(PY) -m engine train --config configs/train_cpu_density.json --set init_from=$(RUN)-stage7/model --data $(DATA) --out $(RUN)-stage8
	mkdir -p resources/models/default
	cp $(RUN)-stage8/model/model.safetensors $(RUN)-stage8/model/config.json $(RUN)-stage8/model/tempo_density.json resources/models/default/
	$(PY) -m engine evaluate --data $(DATA) --model resources/models/default --out $(RUN)-stage8/eval $(EVAL_ARGS) --ppl
	$(PY) -m engine evaluate --data $(DATA) --model resources/models/default --out $(RUN)-stage8/eval-all $(EVAL_ARGS) --songs 0 --no-plots
	$(PY) -m engine.evaluate.band_from_melody --data $(DATA) --songs 10 --out $(RUN)-stage8/band-from-melody.json
	$(PY) -m engine.evaluate.new_drums --data $(DATA) --songs 20 --out $(RUN)-stage7/new-drums.json
	test -d $(REAL) || $(PY) -m engine dataset build $(REAL_FOLDERS) --out $(REAL) --workers $(JOBS)
	$(PY) -m engine evaluate --data $(REAL) --split valid --model resources/models/default --out $(RUN)-stage7/eval-real-band $(EVAL_ARGS) --ppl

# The model card's comparison of the two diffusion kinds at one budget: the same data, network, schedule
# and seed, COMPARE_STEPS steps each, both EMA checkpoints of that step evaluated on the same test regions.
# KINDS_NET= compares them with pitch classes only; KINDS_NET=_chord with the default's chord context too.
COMPARE_STEPS ?= 1000
KINDS_NET ?=
CKPT = checkpoints/step-$(shell printf '%08d' $(COMPARE_STEPS))/ema
compare-kinds: deps
	for k in absorbing embedding; do \
	  $(PY) -m engine train --config configs/compare_kinds$(KINDS_NET)_$$k.json --data $(DATA) --out runs/kinds$(KINDS_NET)-$$k --stop-after $(COMPARE_STEPS) && \
	  $(PY) -m engine evaluate --data $(DATA) --model runs/kinds$(KINDS_NET)-$$k/$(CKPT) --out runs/kinds$(KINDS_NET)-$$k/eval-$(COMPARE_STEPS) $(EVAL_ARGS) --ppl || exit 1; \
	done

clean-venv:
	rm -rf .venv
