# Convenience targets over CMake. `make demo` builds and runs the demo, `make test` runs the
# whole test suite. Extra CMake options go in CMAKE_FLAGS (e.g. CMAKE_FLAGS=-DMETASIM_WERROR=ON).
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
METASIM = $(BUILD)/tools/metasim/metasim

.PHONY: all build demo test deps docs bench clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(METASIM) check breast_demo
	$(METASIM) run breast_demo --patient 11

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
