# cmake -DCOMPILER=<c++> -DSOURCE=<file.cpp> -DINCLUDE_DIRS=<dir;dir>
#       [-DSYSTEM_INCLUDE_DIRS=<dir;dir>] -P keypool_compile_fail.cmake
#
# A compile-fail test: SOURCE's first line is "// expect: <regex>". Passes only
# if `COMPILER -fsyntax-only -std=c++20` on SOURCE exits non-zero AND its
# diagnostics match <regex> (CMake regex syntax). Diagnostics are produced
# under LC_ALL=C so quotes are plain ASCII.

foreach(_var COMPILER SOURCE)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "compile_fail: ${_var} not set")
  endif()
endforeach()

file(STRINGS "${SOURCE}" _first_line LIMIT_COUNT 1)
if(NOT _first_line MATCHES "^//[ \t]*expect:[ \t]*(.+)$")
  message(FATAL_ERROR
    "compile_fail: ${SOURCE}: first line must be `// expect: <regex>`, got `${_first_line}`")
endif()
string(STRIP "${CMAKE_MATCH_1}" _expect)

set(_includes "")
foreach(_dir IN LISTS INCLUDE_DIRS)
  if(_dir)
    list(APPEND _includes "-I${_dir}")
  endif()
endforeach()
foreach(_dir IN LISTS SYSTEM_INCLUDE_DIRS)
  if(_dir)
    list(APPEND _includes -isystem "${_dir}")
  endif()
endforeach()

set(ENV{LC_ALL} C)
execute_process(
  COMMAND "${COMPILER}" -fsyntax-only -std=c++20 -fdiagnostics-color=never
          ${_includes} "${SOURCE}"
  RESULT_VARIABLE _result
  OUTPUT_VARIABLE _output
  ERROR_VARIABLE _output)

if(_result EQUAL 0)
  message(FATAL_ERROR "compile_fail: ${SOURCE} compiled, but it must not.")
endif()
if(NOT _output MATCHES "${_expect}")
  message("${_output}")
  message(FATAL_ERROR
    "compile_fail: ${SOURCE} failed to compile (good) but no diagnostic matches `${_expect}` (output above).")
endif()
message("compile_fail: OK (diagnostic matches `${_expect}`)")
