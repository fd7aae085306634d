# The README's two commands: `make run` and `make test`. Both install what is missing first.
PY := .venv/bin/python

.PHONY: run test deps lint bench clean-venv

deps:
	@bash packaging/install-deps.sh

run: deps
	$(PY) main.py $(ARGS)

test: deps
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: deps
	$(PY) -m ruff check engine app tests bench main.py

bench: deps
	$(PY) -m bench.midi_throughput

clean-venv:
	rm -rf .venv
