# The two commands of the README. Each installs missing Debian packages first (idempotent).
DATA_DIR ?= var
HTTP     ?= 127.0.0.1:8080
JOBS     ?= $(shell nproc)

.PHONY: run test deps test-deps build build-test build-asan unit-asan clean

deps:
	@bash scripts/install-deps.sh

test-deps: deps
	@bash scripts/install-test-deps.sh

build: deps
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRIVOX_TESTS=OFF >/dev/null
	@cmake --build build -j $(JOBS)

run: build
	exec bash scripts/run.sh ./build/privox $(DATA_DIR) $(HTTP)

build-test: test-deps
	@cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRIVOX_TESTS=ON >/dev/null
	@cmake --build build-test -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPRIVOX_TESTS=ON -DPRIVOX_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS) --target privox_unit_tests

# Whole suite on the optimised build, then the unit tests again under ASan + UBSan.
test: build-test build-asan
	cd build-test && ctest --output-on-failure -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L unit

clean:
	rm -rf build build-test build-asan
