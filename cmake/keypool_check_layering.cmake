# cmake -DINCLUDE_ROOT=<repo>/include -P keypool_check_layering.cmake
#
# The core layers compile with the standard library and Boost.Hana only:
# they must not include Boost.JSON/Beast/Asio, OpenSSL, or a keypool layer that
# needs them. Lower layers never include higher ones.

set(_core_layers core selection lockout clock report chain)
set(_forbidden
  "boost/json" "boost/beast" "boost/asio" "openssl/"
  "keypool/providers/" "keypool/config/" "keypool/classify/" "keypool/json/"
  "keypool/http/" "keypool/wire/" "keypool/mock/")

set(_files "")
foreach(_layer IN LISTS _core_layers)
  file(GLOB_RECURSE _layer_files "${INCLUDE_ROOT}/keypool/${_layer}/*.hpp")
  list(APPEND _files ${_layer_files})
endforeach()
if(EXISTS "${INCLUDE_ROOT}/keypool/keypool.hpp")
  list(APPEND _files "${INCLUDE_ROOT}/keypool/keypool.hpp")
endif()

set(_violations "")
foreach(_file IN LISTS _files)
  file(STRINGS "${_file}" _includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(_line IN LISTS _includes)
    foreach(_bad IN LISTS _forbidden)
      string(FIND "${_line}" "${_bad}" _pos)
      if(NOT _pos EQUAL -1)
        file(RELATIVE_PATH _rel "${INCLUDE_ROOT}" "${_file}")
        string(STRIP "${_line}" _line)
        list(APPEND _violations "  ${_rel}: ${_line}")
      endif()
    endforeach()
  endforeach()
endforeach()

if(_violations)
  list(JOIN _violations "\n" _text)
  message(FATAL_ERROR
    "layering: core layers (std + Boost.Hana only) include higher layers:\n${_text}")
endif()
list(LENGTH _files _count)
message("layering: OK (${_count} core headers checked)")
