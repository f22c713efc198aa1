# The layers of include/keypool/, lowest first (docs/index.md, "Layers"):
# each is a set of folders and a CMake target. A header may include its own
# layer and the layers its target links, and only the third-party headers its
# target provides. Read by the layering check (keypool_check_layering.cmake)
# and the header self-containment check (tests/headers/), so both agree.
#
#   layer  folders                                               target
#   core   core selection lockout clock chain report state/*      keypool::keypool
#          (but not state/*redis*, state/*sqlite*), keypool.hpp
#   data   providers config classify wire json spend             keypool::json
#   net    http mock serve                                       keypool::http
#   redis  state/*redis*   (+ OpenSSL for rediss://)             keypool::redis
#   sqlite state/*sqlite*                                        keypool::sqlite

include_guard(GLOBAL)

set(KEYPOOL_LAYERS core data net redis sqlite)

set(KEYPOOL_LAYER_core_TARGET keypool::keypool)
set(KEYPOOL_LAYER_data_TARGET keypool::json)
set(KEYPOOL_LAYER_net_TARGET keypool::http)
set(KEYPOOL_LAYER_redis_TARGET keypool::redis)
set(KEYPOOL_LAYER_sqlite_TARGET keypool::sqlite)

# Which keypool layers a layer's headers may include (its target's links).
set(KEYPOOL_LAYER_core_MAY_INCLUDE core)
set(KEYPOOL_LAYER_data_MAY_INCLUDE core data)
set(KEYPOOL_LAYER_net_MAY_INCLUDE core data net)
set(KEYPOOL_LAYER_redis_MAY_INCLUDE core redis)
set(KEYPOOL_LAYER_sqlite_MAY_INCLUDE core sqlite)

# Third-party headers (anything matching KEYPOOL_THIRD_PARTY_REGEX; the
# standard library and POSIX are allowed everywhere) a layer may include.
set(KEYPOOL_THIRD_PARTY_REGEX "^(boost|openssl|hiredis)/|^sqlite3\\.h$")
set(KEYPOOL_LAYER_core_THIRD_PARTY "^boost/hana[/.]")
set(KEYPOOL_LAYER_data_THIRD_PARTY "^boost/(hana|json)[/.]")
set(KEYPOOL_LAYER_net_THIRD_PARTY "^boost/|^openssl/")
set(KEYPOOL_LAYER_redis_THIRD_PARTY "^boost/hana[/.]|^hiredis/|^openssl/")
set(KEYPOOL_LAYER_sqlite_THIRD_PARTY "^boost/hana[/.]|^sqlite3\\.h$")

# keypool_layer_of(<path relative to include/> <out-var>): the layer of a
# header, or "" when its folder belongs to no layer (the checks fail then: a
# new folder must be given a layer here).
function(keypool_layer_of path out)
  set(_layer "")
  if(path STREQUAL "keypool/keypool.hpp")
    set(_layer core)
  elseif(path MATCHES "^keypool/state/(.*/)?[^/]*redis")
    set(_layer redis)
  elseif(path MATCHES "^keypool/state/(.*/)?[^/]*sqlite")
    set(_layer sqlite)
  elseif(path MATCHES "^keypool/(core|selection|lockout|clock|chain|report|state)/")
    set(_layer core)
  elseif(path MATCHES "^keypool/(providers|config|classify|wire|json|spend)/")
    set(_layer data)
  elseif(path MATCHES "^keypool/(http|mock|serve)/")
    set(_layer net)
  endif()
  set(${out} "${_layer}" PARENT_SCOPE)
endfunction()
