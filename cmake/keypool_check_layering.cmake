# cmake -DINCLUDE_ROOT=<repo>/include -P keypool_check_layering.cmake
# cmake -DSELF_TEST=ON -DWORK_DIR=<scratch dir> -P keypool_check_layering.cmake
#
# Every header under INCLUDE_ROOT/keypool belongs to a layer
# (keypool_layers.cmake) and includes only its own layer, the layers below it
# that its target links, and the third-party headers its target provides.
# Fails listing every upward include, and every header whose folder has no
# layer. SELF_TEST runs the check on a small tree with known violations and
# fails unless it finds exactly those.

cmake_minimum_required(VERSION 3.20)
include("${CMAKE_CURRENT_LIST_DIR}/keypool_layers.cmake")

# The problems of one include line of <rel> (a header of <layer>).
function(_keypool_check_include root rel layer line out)
  set(_problems "")
  if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"]")
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  set(_quote "${CMAKE_MATCH_1}")
  set(_target "${CMAKE_MATCH_2}")
  # "x.hpp" is looked up beside the including file first.
  if(_quote STREQUAL "\"")
    get_filename_component(_dir "${root}/${rel}" DIRECTORY)
    get_filename_component(_beside "${_dir}/${_target}" ABSOLUTE)
    if(EXISTS "${_beside}")
      file(RELATIVE_PATH _target "${root}" "${_beside}")
    endif()
  endif()
  if(_target MATCHES "^keypool/")
    keypool_layer_of("${_target}" _to)
    if(NOT _to)
      set(_problems "${rel} (${layer}) includes ${_target}, which is in no layer")
    elseif(NOT _to IN_LIST KEYPOOL_LAYER_${layer}_MAY_INCLUDE)
      set(_problems "${rel} (${layer}) includes ${_target} (${_to})")
    endif()
  elseif(_target MATCHES "${KEYPOOL_THIRD_PARTY_REGEX}"
         AND NOT _target MATCHES "${KEYPOOL_LAYER_${layer}_THIRD_PARTY}")
    set(_problems "${rel} (${layer}) includes <${_target}>, which ${KEYPOOL_LAYER_${layer}_TARGET} does not provide")
  endif()
  set(${out} "${_problems}" PARENT_SCOPE)
endfunction()

# keypool_layering_violations(<include root> <out-list> <out-count>)
function(keypool_layering_violations root out out_count)
  file(GLOB_RECURSE _files RELATIVE "${root}" "${root}/keypool/*.hpp")
  list(SORT _files)
  set(_violations "")
  foreach(_rel IN LISTS _files)
    keypool_layer_of("${_rel}" _layer)
    if(NOT _layer)
      list(APPEND _violations "${_rel}: its folder is in no layer (cmake/keypool_layers.cmake)")
      continue()
    endif()
    file(STRINGS "${root}/${_rel}" _lines REGEX "^[ \t]*#[ \t]*include")
    foreach(_line IN LISTS _lines)
      _keypool_check_include("${root}" "${_rel}" "${_layer}" "${_line}" _problem)
      if(_problem)
        list(APPEND _violations "${_problem}")
      endif()
    endforeach()
  endforeach()
  list(LENGTH _files _count)
  set(${out} "${_violations}" PARENT_SCOPE)
  set(${out_count} "${_count}" PARENT_SCOPE)
endfunction()

function(_keypool_layering_self_test work)
  file(REMOVE_RECURSE "${work}")
  set(_k "${work}/keypool")
  file(WRITE "${_k}/keypool.hpp" "#include <keypool/core/a.hpp>\n")
  file(WRITE "${_k}/core/a.hpp" "#include <boost/hana/tuple.hpp>\n#include <vector>\n#include <boost/json.hpp>\n")
  file(WRITE "${_k}/state/concept.hpp" "#include <keypool/core/a.hpp>\n#include <keypool/state/redis.hpp>\n")
  file(WRITE "${_k}/state/redis.hpp" "#include <hiredis/hiredis.h>\n#include <keypool/state/concept.hpp>\n#  include <keypool/json/j.hpp>\n")
  file(WRITE "${_k}/json/j.hpp" "#include <boost/json/value.hpp>\n#include <keypool/core/a.hpp>\n")
  file(WRITE "${_k}/wire/x.hpp" "#include <keypool/http/y.hpp>\n#include <keypool/json/j.hpp>\n")
  file(WRITE "${_k}/wire/detail/z.hpp" "#include \"../../http/y.hpp\"\n#include \"../x.hpp\"\n#include <openssl/ssl.h>\n")
  file(WRITE "${_k}/http/y.hpp" "#include <keypool/wire/x.hpp>\n#include <boost/beast/core.hpp>\n#include <hiredis/hiredis.h>\n")
  file(WRITE "${_k}/nowhere/n.hpp" "#include <keypool/core/a.hpp>\n")
  set(_expected
    "keypool/core/a.hpp (core) includes <boost/json.hpp>, which keypool::keypool does not provide"
    "keypool/http/y.hpp (net) includes <hiredis/hiredis.h>, which keypool::http does not provide"
    "keypool/nowhere/n.hpp: its folder is in no layer (cmake/keypool_layers.cmake)"
    "keypool/state/concept.hpp (core) includes keypool/state/redis.hpp (redis)"
    "keypool/state/redis.hpp (redis) includes keypool/json/j.hpp (data)"
    "keypool/wire/detail/z.hpp (data) includes keypool/http/y.hpp (net)"
    "keypool/wire/detail/z.hpp (data) includes <openssl/ssl.h>, which keypool::json does not provide"
    "keypool/wire/x.hpp (data) includes keypool/http/y.hpp (net)")
  keypool_layering_violations("${work}" _found _count)
  if(NOT _found STREQUAL _expected)
    list(JOIN _found "\n  " _found_text)
    list(JOIN _expected "\n  " _expected_text)
    message(FATAL_ERROR "layering self-test: expected\n  ${_expected_text}\nfound\n  ${_found_text}")
  endif()
  file(REMOVE_RECURSE "${work}")
  message("layering self-test: OK (${_count} headers, every planted violation found)")
endfunction()

if(SELF_TEST)
  _keypool_layering_self_test("${WORK_DIR}")
  return()
endif()
if(NOT INCLUDE_ROOT)
  message(FATAL_ERROR "layering: set -DINCLUDE_ROOT=<repo>/include")
endif()
keypool_layering_violations("${INCLUDE_ROOT}" _violations _count)
if(_violations)
  list(LENGTH _violations _n)
  list(JOIN _violations "\n  " _text)
  message(FATAL_ERROR
    "layering: ${_n} include(s) point up or out of a layer's target "
    "(layers: cmake/keypool_layers.cmake, docs/index.md):\n  ${_text}")
endif()
message("layering: OK (${_count} headers checked)")
