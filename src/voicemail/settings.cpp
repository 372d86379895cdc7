// The settings of a voicemail deposit, read by the SIP service when it answers a call for a box
// (store/settings.h). The count and age limits of a box are retention's
// (retention.voicemail_max_messages, retention.voicemail_max_age_days): the privacy notice already
// names them, and one limit has one key.
#include "voicemail/module.h"

#include <array>

namespace privox::voicemail {
namespace {

using enum store::SettingKind;
using store::SettingSpec;

// clang-format off
constexpr std::array<SettingSpec, 5> kSettings = {
  SettingSpec{"voicemail.max_message_seconds", integer, "180", 10, 3600,
              "longest voicemail a caller may leave, in seconds; the recording stops there"},
  SettingSpec{"voicemail.silence_seconds", integer, "10", 1, 120,
              "seconds of silence that end a voicemail recording"},
  SettingSpec{"voicemail.min_message_seconds", integer, "1", 0, 60,
              "a voicemail shorter than this, in seconds, is discarded (a caller who hung up at the tone)"},
  SettingSpec{"voicemail.ring_seconds", integer, "25", 5, 300,
              "seconds a line's phones ring before its voicemail box answers (applies after a restart)"},
  SettingSpec{"voicemail.unsolicited_mwi", integer, "0", 0, 1,
              "1: devices that do not subscribe to message waiting are sent a NOTIFY when their box changes "
              "(applies after a restart)"},
};
// clang-format on

}  // namespace

std::span<const store::SettingSpec> settings() { return kSettings; }

}  // namespace privox::voicemail
