# The layer order of src/, lowest first: each folder, the folders it may use (their own uses come
# with them), and the libraries outside privox it links. A folder's code may include and link only
# what this allows; src/CMakeLists.txt builds one library per folder from it, and
# cmake/check_layers.cmake fails the configure step (and the `layers` test) on any `#include "x/..."`
# outside it. Tests (*_test.cpp, *_fuzz.cpp, test_*.cpp) may include any folder: fixtures come
# from above. src/README.md draws the same order.
set(PRIVOX_LAYERS
  common
  metrics
  media
  http
  store
  privacy
  numbers
  accounts
  callflow
  rating
  wallet
  consent
  traffic
  billing
  fraud
  voicemail
  sip
  ledgers
  erasure
  notify
  rights
  retention
  analytics
  portal
  app
  cli)

set(PRIVOX_USES_common)
set(PRIVOX_USES_metrics common)
set(PRIVOX_USES_media common)
set(PRIVOX_USES_http common)
set(PRIVOX_USES_store common)
set(PRIVOX_USES_privacy store)
set(PRIVOX_USES_numbers common)
set(PRIVOX_USES_accounts privacy numbers)
set(PRIVOX_USES_callflow accounts media)  # media: a menu greeting is checked (prompt.h) and encoded (opus.h)
set(PRIVOX_USES_consent accounts)
set(PRIVOX_USES_rating accounts)
set(PRIVOX_USES_wallet rating)
set(PRIVOX_USES_traffic accounts rating)
set(PRIVOX_USES_billing traffic wallet)
set(PRIVOX_USES_fraud traffic)
set(PRIVOX_USES_voicemail traffic media)
set(PRIVOX_USES_sip voicemail fraud wallet callflow)
set(PRIVOX_USES_ledgers traffic consent)
set(PRIVOX_USES_erasure ledgers)
set(PRIVOX_USES_notify sip ledgers http)
set(PRIVOX_USES_rights notify erasure)
set(PRIVOX_USES_retention erasure voicemail billing callflow)  # callflow: a closed company's receptionists
set(PRIVOX_USES_analytics ledgers)
set(PRIVOX_USES_portal rights retention analytics billing wallet)
set(PRIVOX_USES_app portal)
set(PRIVOX_USES_cli app metrics)

# What each folder may include: itself and, transitively, what it uses. Sets PRIVOX_ALLOWED_<dir>.
function(privox_resolve_layers)
  set(seen)
  foreach(dir IN LISTS PRIVOX_LAYERS)
    set(allowed ${dir})
    foreach(used IN LISTS PRIVOX_USES_${dir})
      if(NOT used IN_LIST seen)
        message(FATAL_ERROR "src/layers.cmake: ${dir} uses ${used}, which is not below it in PRIVOX_LAYERS")
      endif()
      list(APPEND allowed ${PRIVOX_ALLOWED_${used}})
    endforeach()
    list(REMOVE_DUPLICATES allowed)
    set(PRIVOX_ALLOWED_${dir} ${allowed} PARENT_SCOPE)
    set(PRIVOX_ALLOWED_${dir} ${allowed})
    list(APPEND seen ${dir})
  endforeach()
endfunction()
