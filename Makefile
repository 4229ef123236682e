# Convenience targets over CMake. `make demo` builds and runs the demo, `make test` runs the
# whole test suite. Extra CMake options go in CMAKE_FLAGS (e.g. CMAKE_FLAGS=-DMETASIM_WERROR=ON).
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
METASIM = $(BUILD)/tools/metasim/metasim
# The demo's trial size: 1000 patients take about 4 s on 2 cores (docs/performance.md); the
# scenario's own size, 2000, about twice that.
DEMO_PATIENTS ?= 1000

.PHONY: all build demo test deps docs bench clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The flagship trial (docs/flagship.md): validate the built-in scenario, then run it on every
# core into $(BUILD)/demo.db and print its summary.
demo: build
	$(METASIM) check adjuvant_src_breast
	$(METASIM) trial adjuvant_src_breast --patients $(DEMO_PATIENTS) --db $(BUILD)/demo.db --force

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/bench/bench_engine
	$(BUILD)/bench/bench_trial

# Regenerates the docs that are generated from the code.
docs: build
	$(METASIM) schema > docs/scenario.md

clean:
	rm -rf $(BUILD)
