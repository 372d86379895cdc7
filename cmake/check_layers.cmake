# Checks every `#include "x/..."` under src/ against the layer order of src/layers.cmake: a folder's
# code may include only the folders that order allows it. Run at configure time by src/CMakeLists.txt
# (so an upward or cyclic include fails the build) and as the `layers` test:
#   cmake -DSRC=path/to/src -P cmake/check_layers.cmake
# Files under test (*_test.cpp, *_fuzz.cpp, test_*) are exempt: fixtures come from above.
cmake_policy(VERSION 3.25)
if(CMAKE_SCRIPT_MODE_FILE AND NOT SRC)
  message(FATAL_ERROR "check_layers.cmake: pass -DSRC=<the src folder>")
endif()
if(CMAKE_SCRIPT_MODE_FILE)
  include(${SRC}/layers.cmake)
endif()

# Headers keep the heavy third-party headers out of the translation units that include them (build
# time, issue 11): nlohmann/json's full header only where a record holds a JSON value and few units
# include it, <nlohmann/json_fwd.hpp> everywhere else (a declaration that returns or takes JSON
# needs no more); Boost.Beast and Asio only in the transport folders' headers, not in a header a
# subsystem below them includes.
set(PRIVOX_JSON_HEADERS privacy/audit_record.h consent/optional_data.h portal/confirmations.h analytics/cells.h)
set(PRIVOX_ASIO_FOLDERS http sip)

macro(privox_check_heavy_includes dir name file)
  file(STRINGS ${file} heavy REGEX "^[ \t]*#[ \t]*include[ \t]*<(nlohmann/json\\.hpp|boost/(beast|asio))")
  foreach(line IN LISTS heavy)
    if(line MATCHES "nlohmann/json\\.hpp" AND NOT "${dir}/${name}" IN_LIST PRIVOX_JSON_HEADERS)
      list(APPEND problems "src/${dir}/${name} includes <nlohmann/json.hpp>; a header includes <nlohmann/json_fwd.hpp> (the full header goes in the .cpp), or is named in PRIVOX_JSON_HEADERS (cmake/check_layers.cmake)")
    elseif(line MATCHES "boost/(beast|asio)" AND NOT dir IN_LIST PRIVOX_ASIO_FOLDERS)
      list(APPEND problems "src/${dir}/${name} includes Boost.Beast or Asio, which only the transport folders' headers (${PRIVOX_ASIO_FOLDERS}) may")
    endif()
  endforeach()
endmacro()

function(privox_check_layers src)
  privox_resolve_layers()
  set(problems)
  file(GLOB entries LIST_DIRECTORIES true RELATIVE ${src} ${src}/*)
  foreach(dir IN LISTS entries)
    if(NOT IS_DIRECTORY ${src}/${dir})
      continue()
    endif()
    if(NOT dir IN_LIST PRIVOX_LAYERS)
      list(APPEND problems "src/${dir}/ is not in the layer order (src/layers.cmake)")
      continue()
    endif()
    file(GLOB files ${src}/${dir}/*.h ${src}/${dir}/*.cpp)
    foreach(file IN LISTS files)
      get_filename_component(name ${file} NAME)
      if(name MATCHES "(_test|_fuzz)\\.cpp$" OR name MATCHES "^test_")
        continue()
      endif()
      if(name MATCHES "\\.h$")
        privox_check_heavy_includes(${dir} ${name} ${file})
      endif()
      file(STRINGS ${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"[a-z_]+/")
      foreach(line IN LISTS includes)
        string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([a-z_]+)/.*" "\\1" target "${line}")
        if(NOT target IN_LIST PRIVOX_ALLOWED_${dir})
          list(APPEND problems "src/${dir}/${name} includes ${target}/, which ${dir}/ may not use (it is not below ${dir} in src/layers.cmake)")
        endif()
      endforeach()
    endforeach()
  endforeach()
  if(problems)
    list(JOIN problems "\n  " text)
    message(FATAL_ERROR "Includes against the layer order (src/layers.cmake) or the heavy-header rule above:\n  ${text}")
  endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE)
  privox_check_layers(${SRC})
  message(STATUS "every include follows the layer order")
endif()
