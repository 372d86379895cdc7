#pragma once
// Globally unique ids, so that several privox nodes sharing one PostgreSQL cluster never collide:
// UUID version 7 (RFC 9562), time-ordered so that new rows land at the end of an index, with 74
// random bits from libsodium. No table uses an autoincrement key.

#include <cstdint>
#include <string>
#include <string_view>

namespace privox {

std::string new_id(int64_t now_us);
// True for the canonical lower-case 8-4-4-4-12 form.
bool is_valid_id(std::string_view id);

}  // namespace privox
