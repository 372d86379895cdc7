// libFuzzer target for privox's JSON entry point (common/json.h): every HTTP body and provider
// answer goes through parse_untrusted. A document that parses is then serialised, compared and
// destroyed, the recursive walks that once overflowed the stack; none may crash or exceed ASan's
// limits, whatever the nesting.
//
//   scripts/fuzz.sh json BUILD_DIR SECONDS

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  privox::Result<nlohmann::json> parsed = privox::json::parse_untrusted(text);
  if (!parsed.ok()) return 0;
  const std::string once = privox::json::dump_lenient(*parsed);
  privox::Result<nlohmann::json> again = privox::json::parse_untrusted(once);
  if (!again.ok()) std::abort();  // what we write, we must read back
  (void)(*again == *parsed);
  return 0;
}
