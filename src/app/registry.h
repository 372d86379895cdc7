#pragma once
// The composition root's registries. Each subsystem declares, beside its own code, the schema of
// the tables it owns, its part of the data map and the settings it reads (its module.h); this is
// the one place that knows every subsystem and installs their parts, in layer order (src/README.md),
// into the registries the lower layers read: store::migrations(), privacy::personal_fields(),
// store::setting_specs() and privacy::erasure_participants(). Nothing below app/ lists subsystems.
//
// Thread-safety: call install_registries() at the start of main() (and of the test binary),
// before any other thread starts; calling it again is a no-op.

#include <vector>

#include "privacy/erasure_part.h"

namespace privox::app {

void install_registries();

// Every subsystem's erasure participant, in the order erasure runs them (for tests that add one).
std::vector<privacy::ErasureParticipantSpec> erasure_participants();

}  // namespace privox::app
