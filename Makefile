# The two commands of the README. Each installs missing Debian packages first (idempotent).
DATA_DIR ?= var
HTTP     ?= 127.0.0.1:8080
JOBS     ?= $(shell nproc)

.PHONY: run test deps test-deps build build-check deb clean

deps:
	@bash scripts/install-deps.sh

test-deps: deps
	@bash scripts/install-test-deps.sh

# What `make run` serves: GCC, optimised, no tests.
build: deps
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRIVOX_TESTS=OFF >/dev/null
	@cmake --build build -j $(JOBS)

run: build
	exec bash scripts/run.sh ./build/privox $(DATA_DIR) $(HTTP)

# The Debian package of what `make run` serves (CPack, CMakeLists.txt and ops/debian/):
# build/privox_VERSION_ARCH.deb; README, "Installing from the Debian package".
deb: build
	@cd build && cpack -G DEB

# What `make test` checks: one build, so the suite compiles once. Clang, with AddressSanitizer and
# UndefinedBehaviorSanitizer on everything the suite runs (unit tests, the CLI, `privox serve` under
# the end-to-end tests), -Wthread-safety on the locking contracts, and light optimisation (-O1) so
# sanitised end-to-end runs stay quick. Each folder compiles as one unity translation unit, which
# is what makes one sanitised build cheaper than the two plain builds it replaces
# (README, "Tests"). clang-tidy runs as one of the tests, on its own non-unity compile database.
CHECK_FLAGS = -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
              -DPRIVOX_TESTS=ON -DPRIVOX_SANITIZE=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0

build-check: test-deps
	@cmake -S . -B build-check -G Ninja $(CHECK_FLAGS) >/dev/null
	@cmake --build build-check -j $(JOBS)

# The suite's python3 is Debian's (/usr/bin/python3, which has python3-aiosmtpd), as on the machines
# privox is made for, also where a version manager's shim comes first on PATH: pyenv's costs 0.3 s of
# CPU a start against Debian's 0.03, and the end-to-end scripts start python3 thousands of times.
test: build-check
	@mkdir -p build-check/test-bin && ln -sf /usr/bin/python3 build-check/test-bin/python3
	cd build-check && PATH="$(CURDIR)/build-check/test-bin:$$PATH" ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf build build-check
