# Findhiredis: the Redis C client as the imported target hiredis::hiredis.
#
# hiredis 1.x installs its own CMake package with that target: it is used when
# present. Older releases (Debian 12 ships 0.14) install none with a target,
# so the header and the library are found and wrapped here. Installed with
# keypool's package files, so find_package(keypool COMPONENTS redis) works
# for consumers the same way as for keypool's own build.
#
# Sets hiredis_FOUND, hiredis_VERSION; hiredis_INCLUDE_DIR and hiredis_LIBRARY
# (cache) when found by path.

if(NOT TARGET hiredis::hiredis)
  find_package(hiredis CONFIG QUIET)
endif()

if(TARGET hiredis::hiredis)
  set(hiredis_FOUND TRUE)
  if(NOT hiredis_FIND_QUIETLY)
    message(STATUS "Found hiredis: hiredis::hiredis ${hiredis_VERSION}")
  endif()
  return()
endif()

find_path(hiredis_INCLUDE_DIR hiredis/hiredis.h)
find_library(hiredis_LIBRARY hiredis)
mark_as_advanced(hiredis_INCLUDE_DIR hiredis_LIBRARY)

if(hiredis_INCLUDE_DIR AND EXISTS "${hiredis_INCLUDE_DIR}/hiredis/hiredis.h")
  file(STRINGS "${hiredis_INCLUDE_DIR}/hiredis/hiredis.h" _hiredis_version_lines
    REGEX "^#define HIREDIS_(MAJOR|MINOR|PATCH) [0-9]+")
  set(_hiredis_version_parts "")
  foreach(_part MAJOR MINOR PATCH)
    foreach(_line IN LISTS _hiredis_version_lines)
      if(_line MATCHES "^#define HIREDIS_${_part} ([0-9]+)")
        list(APPEND _hiredis_version_parts "${CMAKE_MATCH_1}")
      endif()
    endforeach()
  endforeach()
  list(JOIN _hiredis_version_parts "." hiredis_VERSION)
  unset(_hiredis_version_lines)
  unset(_hiredis_version_parts)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(hiredis
  REQUIRED_VARS hiredis_LIBRARY hiredis_INCLUDE_DIR
  VERSION_VAR hiredis_VERSION)

if(hiredis_FOUND AND NOT TARGET hiredis::hiredis)
  add_library(hiredis::hiredis UNKNOWN IMPORTED)
  set_target_properties(hiredis::hiredis PROPERTIES
    IMPORTED_LOCATION "${hiredis_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${hiredis_INCLUDE_DIR}")
endif()
